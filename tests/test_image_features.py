"""The digits classifier's cache (features.py): a file under .cache/ named by all the classifier
depends on, so a later run, another process or a test harness may hand it on, and it is never
loaded where the classifier it would stand for is another one."""

from __future__ import annotations

import copy
from pathlib import Path

from ganspec.validate import validate_file
from tests.conftest import SPECS
from tests.project_imports import project_imports
from tests.rendered import render_into


def test_the_cache_key_covers_the_settings_and_the_code_the_classifier_depends_on(
    tmp_path: Path,
) -> None:
    render_into(validate_file(SPECS / "dcgan-digits-32.yaml"), tmp_path)
    with project_imports(tmp_path) as modules:
        features, config = modules["features"], modules["config"]
        cfg = config.load_config(tmp_path / "config.yaml")
        path = features._cache_path(cfg)
        assert path.parent == tmp_path / ".cache"
        assert features._cache_path(copy.deepcopy(cfg)) == path  # a function of what it reads

        keys = {path}
        for section, name, value in [
            (cfg, "seed", cfg["seed"] + 1),
            (cfg["validation"], "holdout", 0.25),
            (cfg["data"]["shape"], "height", 16),
        ]:
            saved = section[name]
            section[name] = value
            keys.add(features._cache_path(cfg))
            section[name] = saved
        for module in ("features.py", "data.py"):  # the code that makes its data and trains it
            with open(tmp_path / module, "a", encoding="utf-8") as file:
                file.write("# edited\n")
            keys.add(features._cache_path(cfg))
        assert len(keys) == 6
