"""The command line contract: exit codes, output formats, init/presets/schema/rule, no torch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from ganspec import __version__, reading
from ganspec.cli import cli
from ganspec.diagnostics import MAX_PER_CODE
from ganspec.rules import RULES
from ganspec.source import MAX_FILE_BYTES
from tests.conftest import PRESET_NAMES, ROOT, SPECS, mutated

DCGAN = str(SPECS / "dcgan-64.yaml")
JSON_KEYS = {"code", "severity", "message", "path", "file", "line", "column", "fix", "data"}


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


# --- issue 9: output that stays readable and inert --------------------------------------------

DCGAN_TEXT = Path(DCGAN).read_text(encoding="utf-8")


def _github_property(text: str) -> str:
    """How GitHub's toolkit escapes a workflow command property value."""
    for char, escaped in (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C")):
        text = text.replace(char, escaped)
    return text


def test_findings_of_one_code_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    """A flood of one finding prints MAX_PER_CODE lines, says how many more, and counts all."""
    spec = tmp_path / "spec.yaml"
    unknown = [code for code in (f"GS{n}" for n in range(100, 600)) if code not in RULES]
    unknown = unknown[: MAX_PER_CODE + 10]
    spec.write_text(f"{DCGAN_TEXT}ignore: [{', '.join(unknown)}]\n")
    code, out, _ = run("validate", str(spec))
    assert code == 0
    lines = [line for line in out.splitlines() if " GS107 " in line]
    assert len(lines) == MAX_PER_CODE
    assert "(and 10 more GS107 findings, not shown)" in lines[-1]
    assert out.splitlines()[-1].endswith(f"0 errors, {MAX_PER_CODE + 10} warnings")
    _, out, _ = run("validate", str(spec), "--format", "json")
    assert len(json.loads(out)) == MAX_PER_CODE


def test_long_keys_are_elided_where_messages_quote_them(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(DCGAN_TEXT.replace("seed: 0", f"seed: 0\n? {'k' * 100_000}\n: 1"))
    code, out, _ = run("validate", str(spec), "--format", "json")
    assert code == 1
    [item] = json.loads(out)
    assert item["code"] == "GS103"
    assert "(100000 characters)" in item["message"]
    assert max(len(item[key] or "") for key in ("message", "path", "fix")) < 400


def test_github_format_escapes_the_file_name_so_it_cannot_inject_commands(tmp_path: Path) -> None:
    """A comma would override ``line=``, a newline would start a workflow command of its own."""
    spec = tmp_path / "a,line=1,title=x\n::error file=evil.yaml::injected\r:b.yaml"
    spec.write_text(mutated("dcgan-64", {"data.range": [0.0, 1.0]}))
    code, out, _ = run("validate", str(spec), "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines and all(line.startswith(("::error file=", "::warning file=")) for line in lines)
    assert all(line.count("::") == 2 for line in lines)
    assert lines[0].startswith(f"::error file={_github_property(str(spec))},line=")


def test_github_format_escapes_message_data(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(DCGAN_TEXT.replace("seed: 0", 'seed: 0\n"100%\\r\\n::error::x": 1'))
    code, out, _ = run("validate", str(spec), "--format", "github")
    assert code == 1
    [line] = out.splitlines()
    assert "100%25%0D%0A::error::x" in line.split("::", 2)[2]


def test_text_format_shows_control_characters_instead_of_obeying_them(tmp_path: Path) -> None:
    """ESC sequences and line breaks from a file name or a key are printed as escapes."""
    spec = tmp_path / "red\x1b[31m\nfake.yaml:1:1: GS000 [error] forged\x9b.yaml"
    spec.write_text(DCGAN_TEXT.replace("seed: 0", 'seed: 0\n"\\e[2Jwipe\\u202e": 1'))
    code, out, _ = run("validate", str(spec))
    assert code == 1
    assert not any(char in out for char in "\x1b\x9b\r\u202e")
    lines = out.splitlines()
    assert len(lines) == 2  # the finding and the summary: no forged line
    assert "red\\x1b[31m\\nfake.yaml" in lines[0] and "'\\x1b[2Jwipe\\u202e'" in lines[0]
    assert lines[1].startswith(f"{tmp_path}/red\\x1b[31m\\nfake.yaml")


# --- issue 9: any kind of file, read within bounds ----------------------------------------------


class Outcome(NamedTuple):
    code: int
    stdout: str
    seconds: float
    peak_mib: float


# The child is started from this small launcher, not forked from pytest: on Linux a forked
# child's ru_maxrss starts at its parent's resident size (torch, sklearn: hundreds of MiB),
# so only a grandchild of a small process measures validate's own peak.
_LAUNCHER = """
import json, os, resource, sys
report, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    # 1 GiB of address space: an unbounded read fails here instead of exhausting the machine.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss": usage.ru_maxrss}, f)
"""


def validate_in_child(
    path: str, tmp_path: Path, *, pass_fds: tuple[int, ...] = (), timeout: float = 60
) -> Outcome:
    """``python -m ganspec validate PATH --format json`` in a child: exit code, output, wall
    time and peak RSS (``ru_maxrss``, what ``/usr/bin/time -v`` reports). Killed at
    ``timeout``, which only catches a hang: speed is the benchmark's business."""
    stamp = time.monotonic_ns()
    out_file, report = tmp_path / f"stdout-{stamp}", tmp_path / f"usage-{stamp}.json"
    command = [sys.executable, "-m", "ganspec", "validate", path, "--format", "json"]
    started = time.monotonic()
    with out_file.open("wb") as stdout:
        child = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(report), *command],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
            start_new_session=True,
        )
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise AssertionError(f"validate {path} still ran after {timeout} s") from None
    seconds = time.monotonic() - started
    usage = json.loads(report.read_text())
    peak = usage["maxrss"] / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    return Outcome(usage["code"], out_file.read_text(errors="replace"), seconds, peak)


def _single_finding(outcome: Outcome) -> dict[str, object]:
    payload = json.loads(outcome.stdout)
    assert isinstance(payload, list) and len(payload) == 1, outcome.stdout[-500:]
    return payload[0]


posix_only = pytest.mark.skipif(
    not (hasattr(os, "mkfifo") and hasattr(os, "wait4")), reason="FIFOs, devices: POSIX"
)


@posix_only
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_too_large_not_a_memory_error(tmp_path: Path, device: str) -> None:
    """``st_size`` is 0 for a device: only a bounded read stops at the limit."""
    outcome = validate_in_child(device, tmp_path)
    assert outcome.code == 2
    item = _single_finding(outcome)
    assert item["code"] == "GS100" and f"larger than {MAX_FILE_BYTES} bytes" in item["message"]
    assert outcome.peak_mib < 200


@posix_only
def test_an_endless_pipe_is_too_large_not_a_memory_error(tmp_path: Path) -> None:
    """``validate <(yes 'a: 1')``."""
    read_end, write_end = os.pipe()
    writer = subprocess.Popen(["yes", "a: 1"], stdout=write_end, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        outcome = validate_in_child(f"/dev/fd/{read_end}", tmp_path, pass_fds=(read_end,))
    finally:
        os.close(read_end)
        writer.kill()
        writer.wait()
    assert outcome.code == 2
    assert f"larger than {MAX_FILE_BYTES} bytes" in _single_finding(outcome)["message"]
    assert outcome.peak_mib < 200


@posix_only
def test_a_small_spec_through_a_pipe_validates(tmp_path: Path) -> None:
    """``validate <(cat spec.yaml)`` must keep working."""
    read_end, write_end = os.pipe()
    os.write(write_end, DCGAN_TEXT.encode())  # fits the pipe's buffer
    os.close(write_end)
    try:
        outcome = validate_in_child(f"/dev/fd/{read_end}", tmp_path, pass_fds=(read_end,))
    finally:
        os.close(read_end)
    assert (outcome.code, json.loads(outcome.stdout)) == (0, [])


@posix_only
def test_a_fifo_nobody_writes_to_is_reported_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a FIFO without a writer blocks forever unless the open is non-blocking; the
    wait for a writer then ends at the read deadline (lowered here) with exit 2."""
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(reading, "READ_TIMEOUT_S", 0.3)
    # Should validate block after all, a writer that comes and goes ends it (and this test).
    unblock = threading.Timer(5, lambda: os.close(os.open(fifo, os.O_WRONLY)))
    unblock.daemon = True
    unblock.start()
    try:
        outcome = CliRunner().invoke(cli, ["validate", str(fifo), "--format", "json"])
    finally:
        unblock.cancel()
    assert outcome.exit_code == 2, outcome.output
    (item,) = json.loads(outcome.stdout)
    assert item["code"] == "GS101"
    assert "nothing was written" in item["message"] and "within 0.3 s" in item["message"]


@posix_only
def test_a_fifo_whose_writer_opens_late_validates(tmp_path: Path) -> None:
    """``mkfifo f; (sleep 1; cat spec > f) & ganspec validate f``: validate is already
    waiting when the writer opens the FIFO, as happens when a shell starts both."""
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        time.sleep(1)
        with fifo.open("w", encoding="utf-8") as pipe:  # blocks until validate opens it
            pipe.write(DCGAN_TEXT)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        outcome = validate_in_child(str(fifo), tmp_path)
    finally:
        writer.join(3)
        if writer.is_alive():  # validate gave up before the writer came: unblock the writer
            with fifo.open("rb") as unblock:
                unblock.read()
        writer.join(5)
    assert (outcome.code, json.loads(outcome.stdout)) == (0, [])


@posix_only
@pytest.mark.parametrize(
    ("case", "text"),
    [
        # The 796 KB file: a 400,000-character key repeated 44,000 times as `? *k`.
        ("anchor key 800 KB", "? &k " + "k" * 400_000 + "\n: 1\n" + "? *k\n: 1\n" * 44_000),
        # The same under the node limit, with the longest key the size limit allows.
        ("anchor key 1.9 MB", "? &k " + "k" * 1_880_000 + "\n: 1\n" + "? *k\n: 1\n" * 12_000),
        # The 398 KB ignore list of 99,000 aliases.
        ("ignore 99,000 aliases", f"{DCGAN_TEXT}ignore: [&c GS999{', *c' * 99_000}]\n"),
        # As many as the node limit lets through: all reach the GS104 wording.
        ("ignore 24,000 aliases", f"{DCGAN_TEXT}ignore: [&c GS999{', *c' * 24_000}]\n"),
        # No alias at all: a million values in 2 MB, counted before they are composed.
        ("flat list 2 MB", "a: [" + "1," * 999_000 + "1]\n"),
    ],
)
def test_hostile_specs_validate_quickly_in_bounded_memory(
    tmp_path: Path, case: str, text: str
) -> None:
    """Issue 9's target: any input under the size limit, under 2 s and 200 MB (the time limit
    here is looser: the test machine may be busy)."""
    spec = tmp_path / "hostile.yaml"
    spec.write_text(text, encoding="utf-8")
    outcome = validate_in_child(str(spec), tmp_path)
    assert outcome.code in (1, 2), case
    payload = json.loads(outcome.stdout)
    assert len(payload) <= MAX_PER_CODE + 2, case
    assert all(len(item["message"]) < 500 for item in payload), case
    assert outcome.peak_mib < 200, case


# --- issue 9: YAML merge keys ------------------------------------------------------------------


def _with_shared_optimizer(generator: str, discriminator: str) -> str:
    lines = DCGAN_TEXT.splitlines()
    g = next(i for i, line in enumerate(lines) if line.startswith("    generator: {type: adam"))
    lines[g], lines[g + 1] = f"    generator: {generator}", f"    discriminator: {discriminator}"
    return "\n".join(lines) + "\n"


def test_a_merge_key_shares_an_optimizer_block(tmp_path: Path) -> None:
    """Was: ``required key 'type' is missing`` for any ``<<``."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        _with_shared_optimizer(
            "&adam {type: adam, lr: 2.0e-4, betas: [0.5, 0.999]}", "{<<: *adam, lr: 1.0e-4}"
        )
    )
    code, out, _ = run("validate", str(spec))
    assert (code, out.splitlines()[-1]) == (0, f"{spec}: 0 errors, 0 warnings")


def test_a_finding_on_a_merged_key_points_where_its_value_is_written(tmp_path: Path) -> None:
    text = _with_shared_optimizer(
        "&adam {type: adam, lr: 2.0e-4, betas: [0.5, 1.5]}", "{<<: *adam, lr: 1.0e-4}"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    code, out, _ = run("validate", str(spec), "--format", "json")
    assert code == 1
    found = {item["path"]: item["line"] for item in json.loads(out) if item["code"] == "GS104"}
    anchor_line = next(n for n, line in enumerate(text.splitlines(), 1) if "&adam" in line)
    assert found == {
        "training.optimizers.generator.betas[1]": anchor_line,
        "training.optimizers.discriminator.betas[1]": anchor_line,
    }
