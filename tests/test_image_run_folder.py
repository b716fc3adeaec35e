"""The run folder of a rendered image project (runfolder.py, storage.py, checkpoints.py and
train.py's checkpoint code), tested once here on the cheapest preset rather than in every
render: a fresh run never deletes a previous one, checkpoints are separate checksummed files,
pruning counts epochs as numbers, and --resume gets past a torn log line or a damaged last.pt,
or says clearly why it cannot."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import tracemalloc
from dataclasses import asdict
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import torch
import yaml

from ganspec.validate import validate_file
from tests.conftest import SPECS
from tests.project_imports import project_imports
from tests.rendered import render_into

PRESET = "mlp-ring8"  # the cheapest to train; this code is the same for every image spec
CPU = torch.device("cpu")
MODULES = ("train", "checkpoints", "runfolder", "storage", "sample", "export", "config")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The preset rendered, and its modules imported (they stay loaded for this file)."""
    folder = tmp_path_factory.mktemp(PRESET)
    render_into(validate_file(SPECS / f"{PRESET}.yaml"), folder)
    with project_imports(folder) as modules:
        return SimpleNamespace(folder=folder, **{name: modules[name] for name in MODULES})


@pytest.fixture(scope="module")
def train(project: SimpleNamespace) -> ModuleType:
    return project.train


@pytest.fixture(scope="module")
def checkpoints(project: SimpleNamespace) -> ModuleType:
    return project.checkpoints


@pytest.fixture(scope="module")
def base_cfg(project: SimpleNamespace) -> dict[str, Any]:
    """The preset's config.yaml on the CPU in float32, as the rendered tests' conftest has it."""
    cfg = project.config.load_config(project.folder / "config.yaml")
    cfg["data"]["batch_size"] = max(8, 4 * cfg["discriminator"]["pack"])
    cfg["training"].update(device="cpu", amp="off", compile=False)
    cfg["validation"]["fid"] = None
    return cfg


@pytest.fixture
def cfg(base_cfg: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(base_cfg)


@pytest.fixture(scope="module")
def one_step_run(
    base_cfg: dict[str, Any], train: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A run folder after exactly one training step, shared by several tests."""
    out = tmp_path_factory.mktemp("one_step")
    run(train, base_cfg, out, "--max-steps", "1")
    return out


def run(train: ModuleType, cfg: dict[str, Any], out: Path, *flags: str) -> None:
    """train.train as the command line would call it."""
    train.train(cfg, train.parse_args(["--out", str(out), *flags]))


def main(train: ModuleType, cfg: dict[str, Any], tmp_path: Path, out: Path, *flags: str) -> int:
    """train.py's command line, with this test's config."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return train.main(["--config", str(config), "--out", str(out), *flags])


def contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def copy_run(one_step_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(one_step_run, out)
    return out


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


# --- a fresh run never deletes ---------------------------------------------------------------

UNRELATED = ("last_year_best.pt", "notes.txt", "epoch_best.pt", "samples/mine.png")


def add_unrelated_files(out: Path) -> None:
    for name in UNRELATED:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(f"not written by train.py: {name}".encode())


def test_a_fresh_run_refuses_a_folder_holding_a_run(
    train: ModuleType,
    cfg: dict[str, Any],
    one_step_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing in the folder changes without --resume or --overwrite; the message names both."""
    out = copy_run(one_step_run, tmp_path)
    add_unrelated_files(out)
    before = contents(out)
    assert main(train, cfg, tmp_path, out, "--max-steps", "1") == train.EXIT_RUN_FOLDER
    error = capsys.readouterr().err
    assert "--resume" in error and "--overwrite" in error and "--out" in error
    assert "Traceback" not in error
    assert contents(out) == before


def test_overwrite_moves_the_previous_run_aside_and_leaves_the_rest(
    train: ModuleType,
    checkpoints: ModuleType,
    cfg: dict[str, Any],
    one_step_run: Path,
    tmp_path: Path,
) -> None:
    out = copy_run(one_step_run, tmp_path)
    add_unrelated_files(out)
    before = contents(out)
    run(train, cfg, out, "--max-steps", "1", "--overwrite")
    (previous,) = out.glob("previous-*")
    assert contents(previous) == {k: v for k, v in before.items() if k not in UNRELATED}
    assert all((out / name).read_bytes() == before[name] for name in UNRELATED)
    assert checkpoints.read_checkpoint(out / "last.pt")["progress"]["step"] == 1


def test_only_the_files_training_writes_count_as_a_run(
    project: SimpleNamespace, tmp_path: Path
) -> None:
    """Look-alike names are not a run's files; a folder holding none is used as it is."""
    written = [
        "last.pt", "last.pt.sha256", "last_good.pt", "last_good.pt.sha256", "epoch_0003.pt",
        "epoch_12345.pt.sha256", ".last.pt.tmp", "metrics.jsonl", "scores.jsonl",
        "nan_report.json", "run_config.yaml", "loss_curve.png", "samples/final.png",
        "samples/epoch_0002.png",
    ]  # fmt: skip
    lookalikes = [
        *UNRELATED, "epoch_3.pt.bak", "my_last.pt", "metrics.jsonl.orig", "config.yaml",
        "previous-1/last.pt", "notes/metrics.jsonl", "samples/final.png.old",
    ]  # fmt: skip
    for name in [*written, *lookalikes]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = project.runfolder.run_files(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in found) == sorted(written)

    other = tmp_path / "other"
    for name in lookalikes:
        (other / name).parent.mkdir(parents=True, exist_ok=True)
        (other / name).write_bytes(b"x")
    before = contents(other)
    assert project.runfolder.prepare_fresh(other, overwrite=False) is None
    assert contents(other) == before


# --- logs after a crash ----------------------------------------------------------------------


def test_resume_drops_a_torn_last_log_line(
    train: ModuleType,
    cfg: dict[str, Any],
    one_step_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A crash mid-append leaves a partial last line; --resume drops it and goes on.

    The checkpoint is fine; metrics.jsonl and scores.jsonl lose only the line cut short."""
    out = copy_run(one_step_run, tmp_path)
    with open(out / "metrics.jsonl", "ab") as f:
        f.write(b'{"step": 2, "epoch": 1, "loss_d": 0.69')
    score = '{"step": 1, "epoch": 1, "fd": 3.5}\n'
    (out / "scores.jsonl").write_text(score + '{"step": 2, "ep', encoding="utf-8")
    run(train, cfg, out, "--max-steps", "2", "--resume")
    lines = (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]
    assert (out / "scores.jsonl").read_text(encoding="utf-8") == score
    assert "torn" in capsys.readouterr().out


def test_a_bad_log_line_before_the_last_is_an_error_not_dropped(
    train: ModuleType,
    cfg: dict[str, Any],
    one_step_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = copy_run(one_step_run, tmp_path)
    metrics = out / "metrics.jsonl"
    metrics.write_bytes(b'{"step": 1, "epoch": 1}\n{"step": 2, "loss\n{"step": 3, "epoch": 1}\n')
    before = metrics.read_bytes()
    code = main(train, cfg, tmp_path, out, "--resume", "--max-steps", "2")
    assert code == train.EXIT_RUN_FOLDER
    error = capsys.readouterr().err
    assert f"{metrics}, line 2" in error and "Traceback" not in error
    assert metrics.read_bytes() == before


def test_a_torn_tail_is_told_apart_from_the_rows(project: SimpleNamespace, tmp_path: Path) -> None:
    """Power loss can leave zeros instead of a partial line; blank lines are no rows."""
    read_log = project.runfolder.read_log
    log = tmp_path / "metrics.jsonl"
    rows = [{"step": 1, "loss_d": 0.5}, {"step": 2, "loss_d": float("nan")}]
    whole = "".join(json.dumps(r) + "\n" for r in rows).encode()
    for tail, torn in ((b"", None), (b"\n", None), (b"\x00" * 32, "\x00" * 32), (b"[1", "[1")):
        log.write_bytes(whole + tail)
        got, got_torn = read_log(log)
        assert [r["step"] for r in got] == [1, 2] and got_torn == torn
    log.write_bytes(b"[1, 2]\n" + whole)  # valid JSON, but no row: not dropped silently
    with pytest.raises(project.runfolder.RunFolderError, match="line 1"):
        read_log(log)


# --- checkpoint files ------------------------------------------------------------------------


def test_checkpoints_are_separate_synced_files_each_with_its_checksum(
    train: ModuleType,
    checkpoints: ModuleType,
    cfg: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """last.pt, last_good.pt and epoch_N.pt are separate files: damage to one spares the rest.

    Each is fsynced, with its folder, and has its sha256 beside it."""
    synced: list[int] = []
    fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    gan = train.build_gan(cfg, CPU)
    train.save_checkpoint(tmp_path, gan, cfg, checkpoints.Progress(epoch=1), "epoch_0001.pt")
    paths = [tmp_path / name for name in ("epoch_0001.pt", "last.pt", "last_good.pt")]
    assert len({p.stat().st_ino for p in paths}) == 3, "checkpoints share one file"
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert (tmp_path / f"{path.name}.sha256").read_text() == f"{digest}  {path.name}\n"
        assert path.stat().st_ino in synced, f"{path.name} was not fsynced"
    if os.name != "nt":
        assert tmp_path.stat().st_ino in synced, "the folder was not fsynced"
    with open(tmp_path / "last.pt", "r+b") as f:
        f.truncate(100)
    for path in paths[::2]:
        assert checkpoints.read_checkpoint(path)["progress"]["epoch"] == 1


def test_pruning_keeps_the_newest_epoch_checkpoints_by_number(
    train: ModuleType, checkpoints: ModuleType, cfg: dict[str, Any], tmp_path: Path
) -> None:
    cfg["training"]["keep_checkpoints"] = 2
    others = ("epoch_best.pt", "epoch_0001.pt.bak", "my_epoch_1.pt")
    for name in ("epoch_9998.pt", "epoch_9998.pt.sha256", "epoch_9999.pt", *others):
        (tmp_path / name).write_bytes(b"x")
    gan = train.build_gan(cfg, CPU)
    train.save_checkpoint(tmp_path, gan, cfg, checkpoints.Progress(epoch=10000), "epoch_10000.pt")
    assert {p.name for p in tmp_path.glob("epoch_*.pt")} == {
        "epoch_9999.pt",
        "epoch_10000.pt",
        "epoch_best.pt",
    }
    assert not (tmp_path / "epoch_9998.pt.sha256").exists()
    assert all((tmp_path / name).exists() for name in others)


def tiny_state(checkpoints: ModuleType, step: int, weights: int = 4) -> dict[str, Any]:
    """A checkpoint of train.py's shape with one small weight: enough to check the files."""
    return {
        "generator": {"weight": torch.full((weights,), float(step))},
        **{key: {} for key in ("discriminator", "opt_g", "opt_d", "rng")},
        "progress": asdict(checkpoints.Progress(step=step)),
    }


def no_limits(checkpoints: ModuleType) -> Any:
    """A schedule every checkpoint in these tests lies within."""
    return checkpoints.Progress(10**6, 10**6, 10**6, 10**6)


def test_a_crash_at_any_rename_of_a_save_leaves_every_name_but_one_usable(
    checkpoints: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash at any rename of a save leaves every checkpoint name but one usable.

    Each name and its checksum are renamed into place as a pair, last_good.pt last, and
    --resume finds the old state or the new one."""
    old = ["epoch_0001.pt", "last.pt", "last_good.pt"]
    new = ["epoch_0002.pt", "last.pt", "last_good.pt"]
    names = list(dict.fromkeys(old + new))
    replace = os.replace

    def crashing_at(crash_at: int) -> Any:
        """os.replace that fails at its ``crash_at``-th call, as a crash there would."""
        calls = 0

        def crashing_replace(source: Any, target: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == crash_at:
                raise OSError("the machine went down")
            replace(source, target)

        return crashing_replace

    for crash_at in range(1, 2 * len(new) + 1):
        out = tmp_path / f"crash_at_{crash_at}"
        out.mkdir()
        checkpoints.save_state([out / name for name in old], tiny_state(checkpoints, 1))
        monkeypatch.setattr(os, "replace", crashing_at(crash_at))
        with pytest.raises(OSError, match="went down"):
            checkpoints.save_state([out / name for name in new], tiny_state(checkpoints, 2))
        monkeypatch.setattr(os, "replace", replace)
        steps = {}
        for name in names:
            with contextlib.suppress(checkpoints.CorruptFile):
                steps[name] = checkpoints.read_checkpoint(out / name)["progress"]["step"]
        assert len(steps) >= len(names) - 1, f"crash at rename {crash_at}: {steps}"
        assert set(steps.values()) <= {1, 2}
        state, _ = checkpoints.find_resume_checkpoint(out, no_limits(checkpoints), print)
        assert state["progress"]["step"] in (1, 2)


def test_saving_and_loading_hold_no_copy_of_the_checkpoint_in_memory(
    checkpoints: ModuleType, tmp_path: Path
) -> None:
    """Saving and loading a checkpoint never hold its bytes in memory (8 MiB here).

    torch.save streams into the file, the other names are file copies, and loading checks the
    sha256 a chunk at a time, then maps the file."""
    state = tiny_state(checkpoints, 1, weights=2 << 20)  # 8 MiB of float32
    paths = [tmp_path / name for name in ("epoch_0001.pt", "last.pt", "last_good.pt")]
    size = 8 << 20
    tracemalloc.start()
    try:
        checkpoints.save_state(paths, state)
        saving = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        loaded = checkpoints.read_checkpoint(paths[-1])
        loading = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert paths[0].stat().st_size > size
    assert saving < size / 2, f"saving held {saving / 2**20:.1f} MiB"
    assert loading < size / 2, f"loading held {loading / 2**20:.1f} MiB"
    assert torch.equal(loaded["generator"]["weight"], state["generator"]["weight"])


def test_a_checkpoint_replaced_while_it_loads_is_not_trusted(
    checkpoints: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint renamed over the file between its check and its load is refused.

    torch.load maps the file by its name, after the checksum was checked."""
    path = tmp_path / "last.pt"
    checkpoints.save_state([path], tiny_state(checkpoints, 1))
    load = torch.load

    def load_after_a_swap(*args: Any, **kwargs: Any) -> Any:
        checkpoints.save_state([path], tiny_state(checkpoints, 2))  # another writer, right then
        return load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load_after_a_swap)
    with pytest.raises(checkpoints.CorruptFile, match="replaced while it was being loaded"):
        checkpoints.read_checkpoint(path)


# --- resume: what it refuses, what it falls back to ------------------------------------------


def test_resume_without_a_checkpoint_is_a_clear_error(
    train: ModuleType, cfg: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never_trained"
    assert main(train, cfg, tmp_path, out, "--resume") == train.EXIT_RUN_FOLDER
    error = capsys.readouterr().err
    assert "no checkpoint" in error and str(out) in error and "Traceback" not in error


def test_resume_of_a_run_stopped_before_its_first_checkpoint_names_overwrite(
    train: ModuleType, cfg: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--resume of a run with no checkpoint yet names --overwrite, which a fresh run needs.

    Such a run leaves run_config.yaml and metrics.jsonl, which a fresh run refuses: --resume
    must not send the user back there."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "run_config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    (out / "metrics.jsonl").write_text('{"step": 1, "epoch": 1}\n', encoding="utf-8")
    assert main(train, cfg, tmp_path, out, "--resume") == train.EXIT_RUN_FOLDER
    error = capsys.readouterr().err
    assert "no checkpoint" in error and "before its first checkpoint" in error
    assert "--overwrite" in error and str(out / "previous-<time>") in error
    assert "without --resume" not in error and "Traceback" not in error


def test_a_checkpoint_with_unreadable_rng_states_is_a_clear_error(
    train: ModuleType,
    checkpoints: ModuleType,
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A checkpoint whose RNG states cannot be restored is a clear error, not a traceback.

    Its checksum holds: it was written so."""
    out = tmp_path / "run"
    out.mkdir()
    state = train.checkpoint_state(train.build_gan(cfg, CPU), cfg, checkpoints.Progress())
    state["rng"]["python"] = 5
    checkpoints.save_state([out / "last.pt"], state)
    code = main(train, cfg, tmp_path, out, "--resume", "--max-steps", "1")
    assert code == train.EXIT_RUN_FOLDER
    error = capsys.readouterr().err
    assert f"{out / 'last.pt'} cannot be restored" in error and "RNG" in error
    assert "Traceback" not in error


def test_resume_falls_back_from_a_flipped_bit_in_last_pt(
    train: ModuleType,
    checkpoints: ModuleType,
    cfg: dict[str, Any],
    one_step_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A flipped bit that still unpickles fails the checksum; training resumes from last_good.pt."""
    out = copy_run(one_step_run, tmp_path)
    flip_a_byte(out / "last.pt")
    run(train, cfg, out, "--max-steps", "2", "--resume")
    said = capsys.readouterr().out
    assert f"{out / 'last.pt'} does not match its checksum" in said
    assert f"resuming from {out / 'last_good.pt'} (step 1)" in said
    assert checkpoints.read_checkpoint(out / "last.pt")["progress"]["step"] == 2


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_damaged_last_pt_is_named_and_the_next_intact_checkpoint_used(
    train: ModuleType, checkpoints: ModuleType, cfg: dict[str, Any], tmp_path: Path, damage: str
) -> None:
    """last.pt, then last_good.pt, then the epoch checkpoints, newest first by number."""
    progress = checkpoints.Progress
    gan = train.build_gan(cfg, CPU)
    train.save_checkpoint(tmp_path, gan, cfg, progress(epoch=1, step=2), "epoch_9999.pt")
    train.save_checkpoint(tmp_path, gan, cfg, progress(epoch=1, step=3), "epoch_10000.pt")
    train.save_checkpoint(tmp_path, gan, cfg, progress(epoch=1, step=4))
    last = tmp_path / "last.pt"
    with open(last, "r+b") as f:
        f.truncate(0 if damage == "empty" else last.stat().st_size // 2)
    said: list[str] = []
    limits = no_limits(checkpoints)
    state, path = checkpoints.find_resume_checkpoint(tmp_path, limits, said.append)
    assert (path.name, state["progress"]["step"]) == ("last_good.pt", 4)
    assert str(last) in said[0] and "last_good.pt" in said[0]

    flip_a_byte(tmp_path / "last_good.pt")
    state, path = checkpoints.find_resume_checkpoint(tmp_path, limits, said.append)
    assert (path.name, state["progress"]["step"]) == ("epoch_10000.pt", 3)

    for name in ("epoch_10000.pt", "epoch_9999.pt"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(checkpoints.RunFolderError, match="no usable checkpoint") as error:
        checkpoints.find_resume_checkpoint(tmp_path, limits, said.append)
    names = ("last.pt", "last_good.pt", "epoch_10000", "epoch_9999")
    assert all(name in str(error.value) for name in names)


def test_a_checkpoint_without_a_checksum_file_still_loads(
    checkpoints: ModuleType, one_step_run: Path, tmp_path: Path
) -> None:
    """Checkpoints written before checksums were kept load unverified."""
    state = checkpoints.read_checkpoint(one_step_run / "last.pt")
    plain = tmp_path / "no_checksum.pt"
    plain.write_bytes((one_step_run / "last.pt").read_bytes())
    assert checkpoints.read_checkpoint(plain)["progress"] == state["progress"]


@pytest.mark.parametrize("step", [-1, 10**9])
def test_resume_refuses_a_checkpoint_outside_the_schedule(
    train: ModuleType,
    checkpoints: ModuleType,
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    step: int,
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    gan = train.build_gan(cfg, CPU)
    train.save_checkpoint(out, gan, cfg, checkpoints.Progress(step=step))
    code = main(train, cfg, tmp_path, out, "--resume", "--max-steps", "1")
    assert code == train.EXIT_RUN_FOLDER
    error = capsys.readouterr().err
    assert f"at step {step}, outside this run's schedule" in error and "Traceback" not in error


@pytest.mark.parametrize("script", ["sample", "export"])
def test_scripts_that_load_g_refuse_a_corrupt_checkpoint_by_name(
    project: SimpleNamespace,
    one_step_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    script: str,
) -> None:
    """sample.py and export.py check the checksum too: a flipped bit is exit 2, not a G."""
    out = copy_run(one_step_run, tmp_path)
    flip_a_byte(out / "last.pt")
    with pytest.raises(SystemExit) as exited:
        getattr(project, script).main(
            ["--checkpoint", str(out / "last.pt"), "--out", str(tmp_path / "x")]
        )
    assert exited.value.code == 2
    assert f"{out / 'last.pt'} does not match its checksum" in capsys.readouterr().err
