"""The command line contract: exit codes, output formats, init/presets/schema/rule, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganspec import __version__
from ganspec.cli import cli
from tests.conftest import PRESET_NAMES, SPECS, mutated

DCGAN = str(SPECS / "dcgan-64.yaml")
JSON_KEYS = {"code", "severity", "message", "path", "file", "line", "column", "fix"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_valid_spec_exits_zero_with_a_summary() -> None:
    code, out, _ = run("validate", DCGAN)
    assert code == 0
    assert out.strip().endswith("0 errors, 0 warnings")


def test_spec_with_errors_exits_one_and_names_the_line(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(mutated("dcgan-64", {"generator.layers[5].kernel": 3}))
    code, out, _ = run("validate", str(spec))
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"{spec}:")
    assert "GS201 [error] generator.layers[5]" in first
    assert "3x63x63" in first and "3x64x64" in first
    assert "kernel=4" in first and "output_padding=1" in first


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        ("", "empty"),
        ("- a\n- b\n", "list"),
        ("a: [1, 2\n", "not valid YAML"),
        ("a:\n\tb: 1\n", "tab"),
    ],
)
def test_unusable_input_exits_two(tmp_path: Path, content: str | None, needle: str) -> None:
    spec = tmp_path / "spec.yaml"
    if content is not None:
        spec.write_text(content)
    code, out, _ = run("validate", str(spec))
    assert code == 2
    assert needle in out


def test_json_format_is_a_list_of_exactly_the_documented_keys(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(mutated("dcgan-64", {"training.optimizers.generator.betas": [0.9, 0.999]}))
    code, out, _ = run("validate", str(spec), "--format", "json")
    assert code == 0  # warnings only
    payload = json.loads(out)
    assert isinstance(payload, list) and payload
    for item in payload:
        assert set(item) == JSON_KEYS
    assert payload[0]["code"] == "GS302"
    assert payload[0]["path"] == "training.optimizers.generator.betas"


def test_json_format_reports_unusable_input_too(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(tmp_path / "missing.yaml"), "--format", "json")
    assert code == 2
    [item] = json.loads(out)
    assert item["code"] == "GS100" and item["fix"] is None


def test_github_format_emits_workflow_commands(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(mutated("dcgan-64", {"data.range": [0.0, 1.0]}))
    code, out, _ = run("validate", str(spec), "--format", "github")
    assert code == 1
    assert out.startswith(f"::error file={spec},line=")
    assert "title=GS301::" in out


def test_explain_prints_both_layer_tables_with_shapes() -> None:
    code, out, _ = run("validate", DCGAN, "--explain")
    assert code == 0
    assert "generator (input 100)" in out
    assert "discriminator (input 3x64x64)" in out
    lines = out.splitlines()
    rows = [line.split() for line in lines if line.strip()]
    assert any(row[-1] == "3x64x64" and "conv_transpose" in row for row in rows)
    assert any(row[-1] == "1x1x1" for row in rows)


def test_explain_with_json_keeps_stdout_machine_readable() -> None:
    code, out, err = run("validate", DCGAN, "--format", "json", "--explain")
    assert code == 0
    assert json.loads(out) == []
    assert "generator (input 100)" in err


def test_presets_lists_every_spec_with_what_it_is_for() -> None:
    code, out, _ = run("presets")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == PRESET_NAMES
    assert all(len(line.split(maxsplit=1)[1]) > 20 for line in lines)


def test_init_writes_a_valid_spec_with_schema_modeline(tmp_path: Path) -> None:
    out_file = tmp_path / "spec.yaml"
    code, _, _ = run("init", "--preset", "wgan-gp-64", "--out", str(out_file))
    assert code == 0
    text = out_file.read_text()
    assert text.startswith("# yaml-language-server: $schema=ganspec.schema.json\n")
    schema = json.loads((tmp_path / "ganspec.schema.json").read_text())
    assert schema["title"] == "ganspec spec"
    assert run("validate", str(out_file))[0] == 0


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out_file = tmp_path / "spec.yaml"
    out_file.write_text("mine")
    code, _, err = run("init", "--preset", "dcgan-64", "--out", str(out_file))
    assert code == 2 and "--force" in err
    assert out_file.read_text() == "mine"
    assert run("init", "--preset", "dcgan-64", "--out", str(out_file), "--force")[0] == 0
    assert out_file.read_text() != "mine"


def test_init_suggests_a_preset_for_a_typo() -> None:
    code, _, err = run("init", "--preset", "dcgan64")
    assert code == 2 and "dcgan-64" in err


def test_init_prints_to_stdout_without_out() -> None:
    code, out, _ = run("init", "--preset", "mlp-ring8")
    assert code == 0 and "name: mlp_ring8" in out


def test_schema_carries_field_descriptions() -> None:
    code, out, _ = run("schema")
    assert code == 0
    schema = json.loads(out)
    text = json.dumps(schema)
    assert "Becomes the rendered package name." in text
    assert "Square kernel size." in text


def test_rule_explains_one_code_and_all() -> None:
    code, out, _ = run("rule", "GS201")
    assert code == 0
    assert "Why it matters" in out and "Example" in out and "Fix" in out
    code, out, _ = run("rule", "--all", "--format", "json")
    rules = json.loads(out)
    assert code == 0 and len(rules) >= 20
    assert {"code", "summary", "why", "example", "fix", "severity"} <= set(rules[0])
    assert run("rule", "GS999")[0] == 2


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out
    for command in ("validate", "init", "presets", "schema", "rule"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "Usage" in out


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ganspec", "validate", DCGAN],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_validate_never_imports_torch() -> None:
    probe = (
        "import sys\n"
        "from ganspec.cli import cli\n"
        "try:\n"
        f"    cli(['validate', {DCGAN!r}, '--explain'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"
