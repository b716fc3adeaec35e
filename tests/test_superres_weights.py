"""The rendered superres weights.py, the same for every spec and tested once here on one render
(tests/superres_project.py): weights files are checked before they are loaded and loaded
without running code: a wrong, truncated, missing or malicious file is refused with a one-line
message; random weights in the release format load strictly, through the same path as a
release file."""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.superres_project import modules

contract, models, weights = modules("contract", "models", "weights")
WeightsError, WeightsFile = weights.WeightsError, weights.WeightsFile

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")

URL = "https://example.invalid/release/model.pth"


def release_file(path: Path, seed: int = 0, key: str = "params_ema") -> WeightsFile:
    """Seeded random weights saved in the release format, described like a release."""
    weights.save_release(weights.random_model(seed), path, key=key)
    return weights.describe(path, url=URL)


def states_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def forbid_torch_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("torch.load was called on a file that failed its checks")

    monkeypatch.setattr(torch, "load", refuse)


@torch.no_grad()
def test_release_format_round_trips_strictly(tmp_path: Path) -> None:
    """Random weights saved as {params_ema: sd} load into an equal model: same tensors, same
    outputs."""
    source = weights.random_model(seed=3).eval()
    file = release_file(tmp_path / "model.pth", seed=3)
    loaded = weights.load_model(weights=file, weak=None, strength=None)
    assert states_equal(loaded.state_dict(), source.state_dict())
    assert not loaded.training
    x = torch.rand(1, 3, 6, 4)  # even: RealESRGAN_x2plus folds 2x2 pixels
    assert torch.equal(loaded(x), source(x))


def test_params_ema_is_preferred_then_params_then_the_bare_dict(tmp_path: Path) -> None:
    """read_state takes params_ema over params, params when alone, else the dict itself."""
    a = weights.random_model(0).state_dict()
    b = weights.random_model(1).state_dict()
    torch.save({"params": a, "params_ema": b}, tmp_path / "both.pth")
    torch.save({"params": a}, tmp_path / "params.pth")
    torch.save(a, tmp_path / "bare.pth")
    assert states_equal(weights.read_state(tmp_path / "both.pth"), b)
    assert states_equal(weights.read_state(tmp_path / "params.pth"), a)
    assert states_equal(weights.read_state(tmp_path / "bare.pth"), a)


def test_the_same_seed_gives_the_same_random_weights() -> None:
    """random_model is a function of its seed, and leaves the global RNG alone."""
    before = torch.random.get_rng_state()
    assert states_equal(weights.random_model(7).state_dict(), weights.random_model(7).state_dict())
    assert not states_equal(
        weights.random_model(7).state_dict(), weights.random_model(8).state_dict()
    )
    assert torch.equal(torch.random.get_rng_state(), before)


def test_the_release_file_passes_verify(tmp_path: Path) -> None:
    """verify returns the path when size and sha256 match; relative paths start at root."""
    release_file(tmp_path / "w" / "model.pth")
    file = weights.describe(tmp_path / "w" / "model.pth", url=URL)
    relative = WeightsFile("w/model.pth", file.size, file.sha256, URL)
    assert weights.verify(relative, tmp_path) == tmp_path / "w" / "model.pth"


def test_a_wrong_sha256_is_refused_before_torch_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of the right size but other contents never reaches torch.load."""
    file = release_file(tmp_path / "model.pth", seed=0)
    release_file(tmp_path / "model.pth", seed=1)  # same size, other bytes
    actual = weights.sha256_of(tmp_path / "model.pth")
    assert actual != file.sha256
    forbid_torch_load(monkeypatch)
    with pytest.raises(WeightsError) as caught:
        weights.load_model(weights=file, weak=None, strength=None)
    message = str(caught.value)
    assert "is not the release file model.pth" in message
    assert f"sha256 {actual}, expected {file.sha256}" in message
    assert "\n" not in message


def test_a_truncated_file_says_how_much_arrived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short file is refused by size alone: 'truncated: N of M bytes, download it again'."""
    file = release_file(tmp_path / "model.pth")
    data = (tmp_path / "model.pth").read_bytes()
    (tmp_path / "model.pth").write_bytes(data[:1000])
    forbid_torch_load(monkeypatch)
    monkeypatch.setattr(weights, "sha256_of", lambda path: pytest.fail("hashed a short file"))
    with pytest.raises(
        WeightsError, match=rf"truncated: 1,000 of {file.size:,} bytes .*download it again"
    ):
        weights.verify(file, tmp_path)


def test_a_longer_file_is_refused_by_size(tmp_path: Path) -> None:
    """A file larger than the release is not the release file."""
    file = release_file(tmp_path / "model.pth")
    with open(tmp_path / "model.pth", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(WeightsError, match=rf"{file.size + 1:,} bytes, expected {file.size:,}"):
        weights.verify(file, tmp_path)


def test_a_missing_file_names_the_url_and_where_to_put_it(tmp_path: Path) -> None:
    """The message says where to download the file and where it must go."""
    with pytest.raises(WeightsError) as caught:
        weights.load_model(root=tmp_path, weights=contract.WEIGHTS, weak=None, strength=None)
    message = str(caught.value)
    assert contract.WEIGHTS.url in message
    assert str(tmp_path / contract.WEIGHTS.path) in message


def test_a_folder_is_not_a_weights_file(tmp_path: Path) -> None:
    (tmp_path / "model.pth").mkdir()
    file = WeightsFile("model.pth", 10, "0" * 64, URL)
    with pytest.raises(WeightsError, match="is a folder"):
        weights.verify(file, tmp_path)


def test_a_file_that_cannot_be_looked_at_is_a_weights_error(
    tmp_path: Path,
    stat_denied: Callable[[Path], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No permission on a folder above the weights file: one line with the reason, from
    verify and from python weights.py (exit 2), not a PermissionError traceback."""
    file = WeightsFile("model.pth", 10, "0" * 64, URL)
    stat_denied(tmp_path / "model.pth")
    with pytest.raises(WeightsError, match=r"cannot read weights file .*model\.pth: Permission"):
        weights.verify(file, tmp_path)
    monkeypatch.setattr(contract, "WEIGHTS", file)
    monkeypatch.setattr(contract, "WEAK_DENOISE_WEIGHTS", None)
    assert weights.main(["--root", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: cannot read weights file") and out.count("\n") == 1


class Payload:
    """Unpickling this creates a marker file: the harmless stand-in for os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def malicious_files(tmp_path: Path, marker: Path) -> list[Path]:
    """The payload as a plain pickle, and inside a real torch zip checkpoint's data.pkl."""
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(pickle.dumps({"params_ema": Payload(marker)}, protocol=2))
    good = tmp_path / "good.pth"
    torch.save({"params_ema": {"w": torch.zeros(2)}}, good)
    archive = tmp_path / "archive.pth"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(archive, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("/data.pkl"):
                data = pickle.dumps({"params_ema": Payload(marker)}, protocol=2)
            target.writestr(item, data)
    return [legacy, archive]


@pytest.mark.parametrize("which", [0, 1], ids=["plain-pickle", "torch-zip"])
def test_a_malicious_pickle_is_refused_without_running_it(tmp_path: Path, which: int) -> None:
    """A file whose unpickling would run code is refused even when its hash is the expected
    one, and the code never runs; the same bytes do run under a plain unpickler."""
    marker = tmp_path / "pwned"
    path = malicious_files(tmp_path, marker)[which]
    with pytest.raises(WeightsError, match="refused without running it"):
        weights.read_state(path)
    with pytest.raises(WeightsError, match="refused without running it"):
        weights.load_model(weights=weights.describe(path, URL), weak=None, strength=None)
    assert not marker.exists()

    if which == 0:  # the payload is live: a plain unpickler runs it
        with open(path, "rb") as handle:
            pickle.load(handle).get("params_ema").close()
        assert marker.exists()


@pytest.mark.parametrize(
    "content",
    [[torch.zeros(1)], {"params": {"w": 1.0}}, {}, {"params_ema": [torch.zeros(1)]}],
    ids=["list", "float-value", "empty", "params-ema-list"],
)
def test_anything_but_a_dict_of_tensors_is_refused(tmp_path: Path, content: object) -> None:
    """Loadable weights-only, yet not a state dict: refused with a message, not a crash later."""
    torch.save(content, tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="is not a weights file"):
        weights.read_state(tmp_path / "odd.pth")


def test_weights_for_another_model_name_the_mismatched_keys(tmp_path: Path) -> None:
    """A strict-load mismatch is a WeightsError naming the first missing and unexpected keys."""
    path = tmp_path / "anime.pth"
    network = models.MODELS[contract.MODEL][0]
    other = "realesr-general-x4v3" if network is models.RRDBNet else "RealESRGAN_x4plus_anime_6B"
    torch.save({"params_ema": models.build(other).state_dict()}, path)
    with pytest.raises(WeightsError, match=rf"does not fit {contract.MODEL}: ") as caught:
        weights.load_model(weights=weights.describe(path, URL), weak=None, strength=None)
    assert "keys" in str(caught.value) or "shape" in str(caught.value)


def test_dni_endpoints_and_midpoint_for_every_tensor() -> None:
    """strength 1 gives A, 0 gives B, 0.5 the mean, tensor by tensor (upstream's dni)."""
    a = weights.random_model(0).state_dict()
    b = weights.random_model(1).state_dict()
    assert states_equal(weights.dni(a, b, 1.0), a)
    assert states_equal(weights.dni(a, b, 0.0), b)
    assert states_equal(weights.dni(a, b, 0.5), {k: (a[k] + b[k]) / 2 for k in a})


def test_load_model_blends_the_two_files_by_strength(tmp_path: Path) -> None:
    """strength * WEIGHTS + (1 - strength) * WEAK_DENOISE_WEIGHTS is what gets loaded."""
    strong = release_file(tmp_path / "strong.pth", seed=0)
    weak = release_file(tmp_path / "weak.pth", seed=1, key="params")
    a = weights.random_model(0).state_dict()
    b = weights.random_model(1).state_dict()
    loaded = weights.load_model(weights=strong, weak=weak, strength=0.25)
    assert states_equal(loaded.state_dict(), {k: 0.25 * a[k] + 0.75 * b[k] for k in a})


def test_strength_below_one_needs_the_weak_file(tmp_path: Path) -> None:
    """A missing weak-denoise file is reported with its own URL."""
    strong = release_file(tmp_path / "strong.pth")
    weak = WeightsFile("weak.pth", 10, "0" * 64, "https://example.invalid/weak.pth")
    with pytest.raises(WeightsError, match=r"download https://example\.invalid/weak\.pth"):
        weights.load_model(root=tmp_path, weights=strong, weak=weak, strength=0.5)


def test_random_weights_say_so_loudly_and_follow_the_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """random_weights=True reads no file, prints the banner to stderr, and is seeded."""
    missing = WeightsFile("nowhere.pth", 1, "0" * 64, URL)  # would fail if it were read
    first = weights.load_model(random_weights=True, seed=5, root=tmp_path, weights=missing)
    err = capsys.readouterr().err
    assert "RANDOM WEIGHTS" in err
    assert "NOT a super-resolution" in err
    assert URL in err and str(tmp_path / "nowhere.pth") in err
    again = weights.load_model(random_weights=True, seed=5, root=tmp_path, weights=missing)
    assert states_equal(first.state_dict(), again.state_dict())
    assert states_equal(first.state_dict(), weights.random_model(5).state_dict())


def test_save_release_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted before the rename: nothing at the target, no temporary file left."""

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        weights.save_release(weights.random_model(0), tmp_path / "model.pth")
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_each_file_and_exits_2_when_one_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """python weights.py: one line per file, ok or what is wrong; exit 0 only if all are ok."""
    good = release_file(tmp_path / "good.pth")
    monkeypatch.setattr(contract, "WEIGHTS", good)
    monkeypatch.setattr(contract, "WEAK_DENOISE_WEIGHTS", WeightsFile("weak.pth", 1, "0", URL))
    monkeypatch.setattr(contract, "DENOISE_STRENGTH", 0.5)
    assert weights.main(["--root", str(tmp_path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ok: ") and lines[1].startswith("error: ")
    assert "download" in lines[1] and URL in lines[1]

    monkeypatch.setattr(contract, "WEAK_DENOISE_WEIGHTS", None)
    assert weights.main(["--root", str(tmp_path)]) == 0


def test_cli_does_not_ask_for_the_weak_file_at_full_strength(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At denoise strength 1 the weak-denoise file is never read (no blend), so python
    weights.py does not fail for its absence: it says it is not needed."""
    monkeypatch.setattr(contract, "WEIGHTS", release_file(tmp_path / "good.pth"))
    monkeypatch.setattr(contract, "WEAK_DENOISE_WEIGHTS", WeightsFile("weak.pth", 1, "0", URL))
    monkeypatch.setattr(contract, "DENOISE_STRENGTH", 1.0)
    assert weights.main(["--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("ok: ")
    assert lines[1].startswith("not needed: ") and "weak.pth" in lines[1] and "1.0" in lines[1]


def test_cli_random_writes_loudly_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--random writes seeded weights in the release format, warns, and keeps existing files."""
    path = tmp_path / "random.pth"
    assert weights.main(["--random", str(path), "--seed", "4"]) == 0
    out, err = capsys.readouterr()
    assert "RANDOM" in out and "RANDOM WEIGHTS" in err
    assert states_equal(weights.read_state(path), weights.random_model(4).state_dict())
    assert set(torch.load(path, weights_only=True)) == {"params_ema"}

    before = path.read_bytes()
    assert weights.main(["--random", str(path), "--seed", "5"]) == 2
    assert "exists" in capsys.readouterr().err
    assert path.read_bytes() == before
