"""Render safety: confined, atomic, never overwriting what the user changed; inert spec strings."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ganspec.cli import cli
from ganspec.render import engine
from ganspec.render.confined import NotRegularFile, read_regular
from tests.conftest import SPECS, mutated

SPEC = SPECS / "dcgan-digits-32.yaml"


def render(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["render", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_render_writes_the_project_and_a_manifest_of_it(tmp_path: Path) -> None:
    out = tmp_path / "proj"
    code, stdout, _ = render(str(SPEC), "--out", str(out))
    assert code == 0, stdout
    manifest = json.loads((out / ".ganspec" / "manifest.json").read_text())
    assert set(manifest) == {"ganspec_version", "spec_sha256", "files"}
    files = tree(out)
    assert {"PROMPT.md", "AGENTS.md", "CLAUDE.md", "config.yaml"} <= set(files)
    # ganspec's own files: the manifest, and the spec as rendered (`ganspec check DIR` reads it)
    assert set(manifest["files"]) == set(files) - {".ganspec/manifest.json", ".ganspec/spec.yaml"}
    assert (out / ".ganspec" / "spec.yaml").read_bytes() == Path(SPEC).read_bytes()
    code, stdout, _ = render(str(SPEC), "--out", str(out))
    assert code == 0 and "create" not in stdout and "update" not in stdout
    assert tree(out) == files


def test_training_outputs_and_caches_are_git_ignored(tmp_path: Path) -> None:
    out = tmp_path / "proj"
    assert render(str(SPEC), "--out", str(out))[0] == 0
    ignored = (out / ".gitignore").read_text().splitlines()
    assert {"runs/", ".cache/", "__pycache__/"} <= set(ignored)
    assert not (out / "gitignore").exists()


def test_rendered_files_get_ordinary_permissions(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "PROMPT.md").stat().st_mode & 0o777 == 0o644


def test_render_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _, stderr = render(str(SPEC), "--out", str(tmp_path))
    assert code == 1 and "--force" in stderr
    assert tree(tmp_path) == {"notes.txt": b"mine"}


def test_force_renders_beside_foreign_files_without_touching_them(tmp_path: Path) -> None:
    (tmp_path / "PROMPT.md").write_text("my own prompt")
    code, stdout, _ = render(str(SPEC), "--out", str(tmp_path), "--force")
    assert code == 0
    assert (tmp_path / "PROMPT.md").read_text() == "my own prompt"
    assert "left alone (changed by you)" in stdout and "PROMPT.md" in stdout


def test_a_file_the_user_edited_is_left_alone_and_listed(tmp_path: Path) -> None:
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text() + "# my tweak\n")
    edited = config.read_text()
    changed_spec = tmp_path.parent / "spec.yaml"
    changed_spec.write_text(mutated("dcgan-digits-32", {"training.epochs": 7}))
    code, stdout, _ = render(str(changed_spec), "--out", str(tmp_path), "--force")
    assert code == 0
    assert config.read_text() == edited  # even with --force
    assert "left alone (changed by you)" in stdout and "config.yaml" in stdout
    assert "7 epochs" in (tmp_path / "PROMPT.md").read_text()  # unchanged files do update
    code, _, _ = render(str(changed_spec), "--out", str(tmp_path), "--overwrite-changed")
    assert code == 0 and "epochs: 7" in config.read_text()


def test_a_second_render_still_protects_an_edit_it_left_alone(tmp_path: Path) -> None:
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    (tmp_path / "AGENTS.md").write_text("edited")
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    code, stdout, _ = render(str(SPEC), "--out", str(tmp_path))
    assert code == 0 and "AGENTS.md" in stdout
    assert (tmp_path / "AGENTS.md").read_text() == "edited"


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "proj"
    code, stdout, _ = render(str(SPEC), "--out", str(out), "--dry-run")
    assert code == 0 and "would render" in stdout and "create" in stdout
    assert not out.exists()
    assert render(str(SPEC), "--out", str(out))[0] == 0
    (out / "AGENTS.md").write_text("edited")
    before = tree(out)
    code, stdout, _ = render(str(SPEC), "--out", str(out), "--dry-run", "--overwrite-changed")
    assert code == 0 and "update" in stdout
    assert tree(out) == before


def test_spec_with_errors_renders_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(mutated("dcgan-digits-32", {"generator.layers[4].kernel": 3}))
    code, _, stderr = render(str(spec), "--out", str(tmp_path / "proj"))
    assert code == 1 and "GS201" in stderr
    assert not (tmp_path / "proj").exists()


@pytest.mark.parametrize("name", ["../escape", "os.path", "class", "Upper", "1abc", "a/b"])
def test_names_that_are_not_identifiers_are_rejected(tmp_path: Path, name: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(mutated("dcgan-digits-32", {"name": name}))
    code, _, stderr = render(str(spec), "--out", str(tmp_path / "proj"))
    assert code == 1 and "GS104" in stderr and "name" in stderr
    assert not (tmp_path / "proj").exists()


def test_spec_strings_come_out_as_inert_data(tmp_path: Path) -> None:
    nasty = 'Quotes " \' and {{ 7 * 7 }} and {% raw %}{% endraw %} and\nnew """ lines \\'
    spec = tmp_path / "nasty.yaml"
    spec.write_text(mutated("dcgan-digits-32", {"description": nasty}))
    out = tmp_path / "proj"
    code, stdout, stderr = render(str(spec), "--out", str(out))
    assert code == 0, stdout + stderr
    quoted = "\n".join(f"> {line}".rstrip() for line in nasty.splitlines())
    for document in ("PROMPT.md", "README.md"):
        assert quoted in (out / document).read_text(), document


def test_markdown_in_free_text_cannot_swallow_the_document(tmp_path: Path) -> None:
    spec = tmp_path / "fence.yaml"
    spec.write_text(mutated("dcgan-digits-32", {"description": "```python\n<!-- open"}))
    out = tmp_path / "proj"
    assert render(str(spec), "--out", str(out))[0] == 0
    prompt = (out / "PROMPT.md").read_text()
    assert "> ```python\n> <!-- open\n\nYou are working" in prompt


def test_render_never_writes_through_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "proj"
    assert render(str(SPEC), "--out", str(out), "--agents", "none")[0] == 0
    (out / ".cursor").symlink_to(outside, target_is_directory=True)
    code, _, stderr = render(str(SPEC), "--out", str(out), "--agents", "cursor")
    assert code == 1 and ".cursor/rules/ganspec.mdc" in stderr
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "key",
    ["./train.py", "/etc/passwd", "../x", ".git/HEAD", ".ganspec/manifest.json", "", "a\0b"],
)
def test_a_manifest_listing_foreign_paths_is_refused(tmp_path: Path, key: str) -> None:
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    manifest_path = tmp_path / ".ganspec" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][key] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    before = tree(tmp_path)
    code, _, stderr = render(str(SPEC), "--out", str(tmp_path), "--agents", "none")
    assert code == 2 and "not a valid ganspec manifest" in stderr
    assert tree(tmp_path) == before


def test_a_manifest_whose_hashes_are_not_sha256_is_refused(tmp_path: Path) -> None:
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    manifest_path = tmp_path / ".ganspec" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["train.py"] = "changed"
    manifest_path.write_text(json.dumps(manifest))
    before = tree(tmp_path)
    code, _, stderr = render(str(SPEC), "--out", str(tmp_path), "--overwrite-changed")
    assert code == 2 and "sha256" in stderr
    assert tree(tmp_path) == before


def test_a_manifest_folder_linked_outside_is_refused_before_any_write(tmp_path: Path) -> None:
    outside, out = tmp_path / "outside", tmp_path / "proj"
    outside.mkdir()
    out.mkdir()
    (out / ".ganspec").symlink_to(outside, target_is_directory=True)
    code, _, stderr = render(str(SPEC), "--out", str(out), "--force")
    assert code == 1 and "outside" in stderr
    assert sorted(p.name for p in out.iterdir()) == [".ganspec"]
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("blocker", ["folder at a file path", "file at a folder path"])
def test_something_in_the_way_is_refused_before_any_write(tmp_path: Path, blocker: str) -> None:
    if blocker == "folder at a file path":
        (tmp_path / "PROMPT.md").mkdir()
    else:
        (tmp_path / "tests").write_text("not a folder")
    before = tree(tmp_path)
    code, _, stderr = render(str(SPEC), "--out", str(tmp_path), "--force", "--overwrite-changed")
    assert code == 1 and ("is a folder" in stderr or "is a file" in stderr)
    assert tree(tmp_path) == before


def test_a_deleted_file_stays_deleted_unless_asked(tmp_path: Path) -> None:
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    (tmp_path / "CLAUDE.md").unlink()
    code, stdout, _ = render(str(SPEC), "--out", str(tmp_path))
    assert code == 0 and "deleted by you" in stdout and "CLAUDE.md" in stdout
    assert not (tmp_path / "CLAUDE.md").exists()
    assert render(str(SPEC), "--out", str(tmp_path), "--overwrite-changed")[0] == 0
    assert (tmp_path / "CLAUDE.md").is_file()


def test_a_symlinked_file_is_never_written_through(tmp_path: Path) -> None:
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    models = (tmp_path / "models.py").read_text()
    (tmp_path / "train.py").unlink()
    (tmp_path / "train.py").symlink_to(tmp_path / "models.py")
    code, stdout, _ = render(str(SPEC), "--out", str(tmp_path), "--overwrite-changed")
    assert code == 0 and "a symlink" in stdout
    assert (tmp_path / "models.py").read_text() == models


def test_files_no_longer_rendered_are_removed_unless_edited(tmp_path: Path) -> None:
    assert render(str(SPEC), "--out", str(tmp_path), "--agents", "all")[0] == 0
    (tmp_path / "CLAUDE.md").write_text("my notes")
    code, stdout, _ = render(str(SPEC), "--out", str(tmp_path), "--agents", "none")
    assert code == 0
    assert not (tmp_path / "AGENTS.md").exists()
    assert (tmp_path / "CLAUDE.md").read_text() == "my notes"
    assert "no longer rendered, changed by you" in stdout


@pytest.mark.parametrize(
    ("agents", "present", "absent"),
    [
        ("none", {"PROMPT.md"}, {"AGENTS.md", "CLAUDE.md", ".cursor/rules/ganspec.mdc"}),
        ("claude", {"AGENTS.md", "CLAUDE.md"}, {".github/copilot-instructions.md"}),
        ("codex", {"AGENTS.md"}, {"CLAUDE.md"}),
        (
            "all",
            {
                "AGENTS.md",
                "CLAUDE.md",
                ".cursor/rules/ganspec.mdc",
                ".github/copilot-instructions.md",
            },
            set(),
        ),
    ],
)
def test_agents_choose_the_agent_files(
    tmp_path: Path, agents: str, present: set[str], absent: set[str]
) -> None:
    assert render(str(SPEC), "--out", str(tmp_path), "--agents", agents)[0] == 0
    files = set(tree(tmp_path))
    assert present <= files and not absent & files


def test_agent_files_point_at_agents_md(tmp_path: Path) -> None:
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    assert (tmp_path / "CLAUDE.md").read_text().startswith("@AGENTS.md\n")
    rule = (tmp_path / ".cursor/rules/ganspec.mdc").read_text()
    front = rule.split("---")[1]
    assert "description:" in front and "globs:" in front and "alwaysApply: true" in front


def test_unknown_agent_is_a_usage_error(tmp_path: Path) -> None:
    code, _, stderr = render(str(SPEC), "--out", str(tmp_path), "--agents", "vim")
    assert code == 2 and "vim" in stderr


def test_prompt_command_prints_prompt_md(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["prompt", str(SPEC)])
    assert result.exit_code == 0
    out = tmp_path / "proj"
    assert render(str(SPEC), "--out", str(out))[0] == 0
    assert result.stdout == (out / "PROMPT.md").read_text()


@pytest.mark.parametrize("where", ["inside --out", "outside --out"])
def test_a_file_no_longer_rendered_that_became_a_symlink_keeps_its_target(
    tmp_path: Path, where: str
) -> None:
    out = tmp_path / "proj"
    assert render(str(SPEC), "--out", str(out), "--agents", "all")[0] == 0
    agents = (out / "AGENTS.md").read_bytes()
    notes = (out if where == "inside --out" else tmp_path) / "notes.md"
    notes.write_bytes(agents)  # the user's own file, byte for byte what ganspec wrote
    (out / "AGENTS.md").unlink()
    (out / "AGENTS.md").symlink_to(notes)
    code, stdout, stderr = render(str(SPEC), "--out", str(out), "--agents", "none")
    assert code == 0, stderr
    assert notes.read_bytes() == agents
    assert (out / "AGENTS.md").is_symlink() and "left alone (a symlink)" in stdout


@pytest.mark.parametrize("swapped_at", ["tests/conftest.py", "sample.py"])
def test_a_folder_swapped_for_a_symlink_mid_render_gets_no_byte_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swapped_at: str
) -> None:
    """The race: tests/ passes the containment checks, then becomes a link to a folder
    outside, just as the temporary file of tests/conftest.py (or of an earlier file) is
    created. Nothing may land outside, whichever moment it happens at."""
    outside, out = tmp_path / "outside", tmp_path / "proj"
    outside.mkdir()
    (out / "tests").mkdir(parents=True)
    real_open, swaps = os.open, []

    def racing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT and f".{Path(swapped_at).name}." in os.fspath(path) and not swaps:
            (out / "tests").rename(out / "tests-moved")
            (out / "tests").symlink_to(outside, target_is_directory=True)
            swaps.append(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", racing_open)
    code, _, stderr = render(str(SPEC), "--out", str(out), "--force", "--agents", "none")
    monkeypatch.undo()
    assert swaps, "the render never created the file the race is timed on"
    assert list(outside.iterdir()) == []
    assert code == 1 and "symlink" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("flags", [["--force"], ["--force", "--overwrite-changed"]])
def test_a_spec_inside_the_folder_is_never_rendered_over(tmp_path: Path, flags: list[str]) -> None:
    spec = tmp_path / "config.yaml"  # the name of the project's own config
    spec.write_bytes(SPEC.read_bytes())
    code, stdout, stderr = render(str(spec), "--out", str(tmp_path), *flags)
    assert code == 1 and f"is the spec {spec} itself" in stderr and stdout == ""
    assert list(tmp_path.iterdir()) == [spec] and spec.read_bytes() == SPEC.read_bytes()


def test_init_never_replaces_a_different_schema_without_force(tmp_path: Path) -> None:
    schema, spec = tmp_path / "ganspec.schema.json", tmp_path / "spec.yaml"
    schema.write_text('{"my": "schema"}\n')

    def init(*flags: str) -> tuple[int, str]:
        args = ["init", "--preset", "mlp-ring8", "--out", str(spec), *flags]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        return result.exit_code, result.stderr

    code, stderr = init()
    assert code == 2 and "differs" in stderr and "--force" in stderr
    assert schema.read_text() == '{"my": "schema"}\n' and not spec.exists()
    assert init("--force")[0] == 0 and json.loads(schema.read_text())["$defs"]
    spec.unlink()
    assert init()[0] == 0  # the same schema again is no overwrite


# --- what is not a regular file is never opened -------------------------------------------

fifos_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


@contextmanager
def unblocked_after(fifo: Path, seconds: float = 5.0) -> Iterator[list[bool]]:
    """Should the code under test open ``fifo`` and wait on it after all, a writer that comes
    and goes ends the wait after ``seconds`` and records that it had to (the list it yields
    is then non-empty). Opening a FIFO to write returns only once a reader has it open, so a
    slow run that never opened it leaves the list empty: a busy machine cannot fail the test."""
    unblocked: list[bool] = []

    def writer() -> None:
        os.close(os.open(fifo, os.O_WRONLY))
        unblocked.append(True)

    timer = threading.Timer(seconds, writer)
    timer.daemon = True
    timer.start()
    try:
        yield unblocked
    finally:
        timer.cancel()


@fifos_only
@pytest.mark.parametrize("flags", [[], ["--force", "--overwrite-changed"]])
def test_a_fifo_where_a_rendered_file_goes_is_refused_not_read(
    tmp_path: Path, flags: list[str]
) -> None:
    """``mkfifo out/sample.py; ganspec render ... --out out`` used to hang on reading it."""
    assert render(str(SPEC), "--out", str(tmp_path))[0] == 0
    fifo = tmp_path / "sample.py"
    fifo.unlink()
    os.mkfifo(fifo)
    before = tree(tmp_path)
    with unblocked_after(fifo) as unblocked:
        code, _, stderr = render(str(SPEC), "--out", str(tmp_path), *flags)
    assert not unblocked, "render opened the FIFO and waited on it"
    assert code == 1 and f"{fifo} is a FIFO" in stderr and "move it away" in stderr, stderr
    assert tree(tmp_path) == before and stat.S_ISFIFO(fifo.lstat().st_mode)


@fifos_only
def test_init_never_reads_a_fifo_where_the_schema_goes(tmp_path: Path) -> None:
    schema, spec = tmp_path / "ganspec.schema.json", tmp_path / "spec.yaml"
    os.mkfifo(schema)
    args = ["init", "--preset", "mlp-ring8", "--out", str(spec)]
    with unblocked_after(schema):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2 and "--force" in result.stderr and not spec.exists()
    assert stat.S_ISFIFO(schema.lstat().st_mode)
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0
    assert json.loads(schema.read_text())["$defs"]  # replaced by the schema, never read


@fifos_only
def test_read_regular_reads_files_only(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"data")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    assert read_regular(tmp_path / "file") == b"data"
    assert read_regular(tmp_path / "missing") is None
    for name, kind in [("fifo", "a FIFO"), ("link", "a symlink"), (".", "a folder")]:
        with unblocked_after(tmp_path / "fifo"), pytest.raises(NotRegularFile, match=kind):
            read_regular(tmp_path / name)


def test_templates_compile_once_per_process_and_an_edited_one_is_read_again(
    tmp_path: Path,
) -> None:
    """Renders share one Jinja environment per templates folder (compiling the templates was
    most of a render's time, and the suite renders hundreds of times); a template edited since
    it was compiled is read again, not served stale."""
    template = tmp_path / "greeting.j2"
    template.write_text("hello {{ name }}", encoding="utf-8")
    env = engine._environment(tmp_path)
    assert env.get_template("greeting.j2").render(name="a") == "hello a"
    assert engine._environment(tmp_path) is env

    template.write_text("bye {{ name }}", encoding="utf-8")
    later = template.stat().st_mtime + 2
    os.utime(template, (later, later))  # the edit is seen by its time, whatever the clock's grain
    assert engine._environment(tmp_path).get_template("greeting.j2").render(name="a") == "bye a"
