"""Every tabular preset renders into a project that lints clean, passes its own contract tests
with a short fit, and runs train.py, sample.py and evaluate.py as its README says; `ganspec
smoke` reads its health report.

The rendered projects' dependencies (sdv 2.0, opacus 1.6) are ganspec's dev extras, installed
with the pinned CPU torch in one command.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruff.__main__ import find_ruff_bin
from sklearn.datasets import load_wine

from ganspec.cli import cli
from ganspec.render.pipeline import render_files
from ganspec.tabular import customers
from ganspec.validate import validate_file
from tests.conftest import SPECS, TABULAR_PRESETS
from tests.project_imports import project_imports
from tests.project_pytest import run_pytest

END_TO_END = "ctgan-customers"  # train, sample, evaluate and smoke run once, on the richest
# The presets, and specs that use what the presets do not (every constraint kind, %z dates,
# Parquet output, faked numbers, nulls: none), each with its small CSV beside it.
VARIANTS = Path(__file__).parent / "tabular_specs"
SPEC_FILES = [SPECS / f"{preset}.yaml" for preset in TABULAR_PRESETS] + sorted(
    VARIANTS.glob("*.yaml")
)


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def replaced(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced, which must be there: an edit that silently missed would
    leave the test checking the preset instead of the variant it names."""
    assert old in text, old
    return text.replace(old, new)


def render(spec: Path, out: Path) -> Path:
    result = CliRunner().invoke(cli, ["render", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "pip install torch==2.13.0 -e '.[test]'" in result.output  # the pinned install
    return out


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda path: path.stem)
def test_rendered_tabular_project_lints_and_passes_its_contract_tests(
    spec: Path, tmp_path: Path
) -> None:
    project = render(spec, tmp_path / spec.stem)
    ruff = find_ruff_bin()
    for command in ([ruff, "check", "--no-cache", "."], [ruff, "format", "--check", "."]):
        linted = run(command, project)
        assert linted.returncode == 0, linted.stdout + linted.stderr
    tests = run_pytest(["--basetemp", str(tmp_path / "suite")], project)
    assert tests.returncode == 0, tests.stdout[-6000:]
    assert " passed" in tests.stdout and " skipped" not in tests.stdout
    code = "".join(p.read_text() for p in project.rglob("*.py"))
    assert "import ganspec" not in code and "from ganspec" not in code


def test_train_sample_evaluate_and_smoke_run_as_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's commands, with a short fit: each exits 0 and leaves what it promises.

    The preset's table is cut to 600 customers (480 training rows, what the rendered tests fit
    on): SDV's checks and encoding of the table take seconds per thousand rows, in train.py and
    again in health.py. `ganspec smoke` runs health.py as a process of its own, as users run
    it; train.py (twice: the fit, then the refused rerun), sample.py and evaluate.py run their
    main() in this process, from the project's folder (a process each spent ~9 s importing SDV
    and torch again); each script hands main()'s code to the shell as its exit status."""
    spec = replaced((SPECS / f"{END_TO_END}.yaml").read_text(), "rows: 2000}", "rows: 600}")
    (tmp_path / "spec.yaml").write_text(spec)
    project = render(tmp_path / "spec.yaml", tmp_path / "project")
    for script in ("train.py", "sample.py", "evaluate.py", "health.py"):
        text = (project / script).read_text(encoding="utf-8")
        assert text.endswith('\n\nif __name__ == "__main__":\n    sys.exit(main())\n'), script
    monkeypatch.chdir(project)
    with project_imports(project) as modules:
        assert modules["train"].main(["--epochs", "1", "--device", "cpu"]) == 0, capsys.readouterr()
        written = project / "synthetic" / "customers.csv"  # train.py writes the declared output
        assert len(written.read_text().splitlines()) == 2001
        run_folder = project / "runs" / "ctgan_customers"
        record = json.loads((run_folder / "fit.json").read_text())
        assert record["epochs"] == 1 and record["seed"] == 0 and len(record["losses"]) == 1
        assert (run_folder / "synthesizer.pkl.sha256").is_file()
        capsys.readouterr()  # the fit's output

        assert modules["train"].main(["--epochs", "1"]) == 2
        assert "--overwrite" in capsys.readouterr().err  # a fit is never lost

        table = tmp_path / "synthetic.csv"
        assert modules["sample"].main(["--rows", "300", "--out", str(table)]) == 0
        header = table.read_text().splitlines()[0].split(",")
        assert header == list(customers.COLUMNS)

        scored = modules["evaluate"].main(["--table", str(table), "--no-plots"])
        assert scored in (0, 1), capsys.readouterr().err[-3000:]  # 1: a one-epoch fit misses bars
    report = json.loads((run_folder / "evaluation.json").read_text())
    assert report["constraint_adherence"] == 1.0 and report["contract_problems"] == []
    assert report["exact_copies"] == 0 and 0 < report["quality"] <= 1
    assert set(report["ml_efficacy"]) >= {"ratio", "train_real_test_real"}

    smoke = CliRunner().invoke(cli, ["smoke", str(project), "--steps", "1", "--json"])
    assert smoke.exit_code == 0, smoke.output
    health = json.loads(smoke.output)
    assert health["healthy"] and {c["name"] for c in health["checks"]} >= {
        "finite_losses",
        "contract",
        "unique_keys",
        "reload",
    }


def test_bad_real_data_is_refused_with_its_row_never_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV whose value does not parse stops train.py with the column and row (exit 2).

    train.py's main() runs in this process, from the project's folder (a process of its own
    per refusal spent seconds importing SDV and torch); an uncaught error fails the test."""
    data = tmp_path / "wine.csv"
    spec = (SPECS / "ctgan-wine.yaml").read_text()
    spec = replaced(spec, "{type: sklearn, name: wine}", "{type: csv, path: wine.csv}")
    frame = load_wine(as_frame=True).frame
    frame.astype({"magnesium": int, "proline": int}).to_csv(data, index=False)
    (tmp_path / "spec.yaml").write_text(spec)
    project = tmp_path / "project"
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "spec.yaml"), "--out", str(project)])
    assert result.exit_code == 0, result.output
    text = data.read_text().splitlines()
    text[5] = "abc" + text[5][text[5].index(",") :]  # row 5's alcohol is not a number
    data.write_text("\n".join(text) + "\n")
    monkeypatch.chdir(project)
    with project_imports(project) as modules:
        assert modules["train"].main(["--epochs", "1"]) == 2
        refused = capsys.readouterr().err
        assert "'alcohol'" in refused and "line(s) [6]" in refused
        data.unlink()
        assert modules["train"].main(["--epochs", "1"]) == 2
        assert "no such file" in capsys.readouterr().err


def test_a_semicolon_csv_in_and_parquet_out_keep_the_contract(tmp_path: Path) -> None:
    """The file paths users take: a ';'-separated CSV with its own null marker is read with
    the declared types, and the Parquet table sample.py writes reads back the same."""
    data = tmp_path / "wine.csv"
    spec = (SPECS / "ctgan-wine.yaml").read_text()
    spec = replaced(
        spec,
        "{type: sklearn, name: wine}",
        '{type: csv, path: wine.csv, delimiter: ";", null_values: ["n/a"]}',
    )
    spec = replaced(
        spec, "format: csv\n  path: synthetic/wine.csv", "format: parquet\n  path: w.parquet"
    )
    spec = replaced(
        spec,
        "  nulls: keep\n",
        "  nulls: keep\n  column_order: [target, alcohol, "
        + (", ".join(f'"{c}"' for c in load_wine().feature_names[1:]))
        + "]\n",
    )
    frame = load_wine(as_frame=True).frame.astype({"magnesium": int, "proline": int})
    frame.to_csv(data, index=False, sep=";")
    (tmp_path / "spec.yaml").write_text(spec)
    project = tmp_path / "project"
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "spec.yaml"), "--out", str(project)])
    assert result.exit_code == 0, result.output
    assert '"pyarrow' in (project / "pyproject.toml").read_text()
    tests = run_pytest(
        [
            "--basetemp",
            str(tmp_path / "suite"),
            "tests/test_contract.py",
            "-k",
            "real_table or schema or written_file",
        ],
        project,
    )
    assert tests.returncode == 0, tests.stdout[-5000:]
    assert "4 passed" in tests.stdout


def test_the_customers_generator_ships_verbatim() -> None:
    """The rendered project trains on the very table `ganspec validate` checked."""
    files = render_files(validate_file(SPECS / "ctgan-customers.yaml"), set())
    assert files["customers.py"] == Path(customers.__file__).read_text(encoding="utf-8")
