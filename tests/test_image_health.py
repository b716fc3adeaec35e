"""The rendered health.py: what it promises whatever the spec, tested once here on one render
(each rendered project keeps only its own healthy run), and what it holds for each spec.

Whatever the spec: a NaN loss, a crash or a corrupt checkpoint is a failed check with a report,
never a traceback alone; a rerun replaces only the files its previous run recorded, refuses any
other run unless --overwrite moves it aside; SIGTERM ends a run through its finally blocks, so
the next run is not blocked; --synthetic never reads data.source. Per spec
(ganspec/render/image_health.py): the data's shape, range and classes are literals, and the
D(G(z)) band check exists only for a D whose score is a probability and a spec with a band.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest
import torch
import yaml

from ganspec.render.image_health import health_context
from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file
from tests.conftest import DELETE, SPECS, validate_mutation
from tests.project_imports import project_imports
from tests.rendered import render_into

BASE = "mlp-ring8"  # the cheapest training; a logits D with a healthy band, no data.range
CRITIC = {
    "training.loss": "wgan-gp",
    "training.gradient_penalty": 10.0,
    "training.r1": DELETE,
    "training.r1_every": DELETE,
    "discriminator.output": "critic",
}


SIGNALS = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]


class Project(NamedTuple):
    folder: Path
    health: ModuleType
    train: ModuleType
    data: ModuleType


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """BASE rendered, with a test-sized batch on the CPU, its modules imported."""
    folder = tmp_path_factory.mktemp(BASE)
    render_into(validate_file(SPECS / f"{BASE}.yaml"), folder)
    cfg = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    cfg["data"]["batch_size"] = 8
    cfg["training"]["device"] = "cpu"
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with project_imports(folder) as modules:
        yield Project(folder, modules["health"], modules["train"], modules["data"])


@pytest.fixture(autouse=True)
def signal_handlers() -> Iterator[None]:
    """health.main installs its own SIGTERM and SIGHUP handlers: the test process's come back."""
    saved = {number: signal.getsignal(number) for number in SIGNALS}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


class Run(NamedTuple):
    code: int
    report: dict[str, Any]  # {} when health.py printed none
    stderr: str


def run_health(project: Project, out: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> Run:
    """health.py for one step on the CPU with --json."""
    config = str(project.folder / "config.yaml")
    capsys.readouterr()
    arguments = ["--config", config, "--steps", "1", "--device", "cpu", "--out", str(out)]
    code = project.health.main([*arguments, "--json", *flags])
    printed = capsys.readouterr()
    return Run(code, json.loads(printed.out) if printed.out else {}, printed.err)


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_nan_loss_is_a_failed_check_not_a_crash(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def nan_loss(*_: Any) -> torch.Tensor:
        return torch.tensor(float("nan"), requires_grad=True)

    monkeypatch.setattr(project.train, "discriminator_loss", nan_loss)
    code, report, _ = run_health(project, tmp_path / "run", capsys)
    assert code == 1
    assert report["healthy"] is False and "losses_finite" in report["failed"]
    losses = next(c for c in report["checks"] if c["name"] == "losses_finite")
    assert losses["status"] == "fail" and "training stopped: loss_d became nan" in losses["detail"]
    assert report["nan_report"]["loss"] == "loss_d"


def test_a_crash_in_training_is_a_failed_check_with_the_end_of_its_traceback(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*_: Any) -> None:
        raise RuntimeError("boom in a training step")

    monkeypatch.setattr(project.train, "train", crash)
    code, report, _ = run_health(project, tmp_path / "run", capsys)
    assert code == 1
    assert report["healthy"] is False and report["failed"] == ["no_crash"]
    assert report["checks"] == [
        {"name": "no_crash", "status": "fail", "detail": "RuntimeError: boom in a training step"}
    ]
    assert report["error"].endswith("RuntimeError: boom in a training step")


def test_a_corrupt_checkpoint_is_a_failed_check_not_sampled_from(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trained = project.train.train

    def train_then_flip_a_bit(cfg: dict[str, Any], args: Any) -> dict[str, Any]:
        summary = trained(cfg, args)
        for name in ("last.pt", "last_good.pt"):
            data = bytearray((Path(args.out) / name).read_bytes())
            data[len(data) // 2] ^= 0x01
            (Path(args.out) / name).write_bytes(bytes(data))
        return summary

    monkeypatch.setattr(project.train, "train", train_then_flip_a_bit)
    code, report, _ = run_health(project, tmp_path / "run", capsys)
    assert code == 1 and "checkpoint_intact" in report["failed"]
    intact = next(c for c in report["checks"] if c["name"] == "checkpoint_intact")
    assert "does not match its checksum" in intact["detail"]
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["output_shape"] == statuses["not_collapsed"] == "skip"


def test_collapse_means_a_shrinking_spread_not_a_compact_start(project: Project) -> None:
    check_collapse = project.health.check_collapse
    assert check_collapse(0.5, untrained=0.4)["status"] == "pass"
    assert check_collapse(0.05, untrained=0.06)["status"] == "warn"  # not spread out yet
    assert check_collapse(0.05, untrained=0.6)["status"] == "fail"  # collapsed
    assert check_collapse(float("nan"), untrained=0.6)["status"] == "fail"


def test_a_rerun_replaces_its_own_previous_run_and_no_other(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file changed since health.py recorded it (by a resumed run, or a rerun killed before
    it could record its own) is not health.py's to delete: refused until --overwrite."""
    out = tmp_path / "run"
    for _ in range(2):
        assert run_health(project, out, capsys).code == 0
    assert not list(out.glob("previous-*"))
    metrics = out / "metrics.jsonl"
    os.utime(metrics, ns=(metrics.stat().st_atime_ns, metrics.stat().st_mtime_ns + 1))
    before = contents(out)
    refused = run_health(project, out, capsys)
    assert refused.code == project.train.EXIT_RUN_FOLDER and refused.report == {}
    assert "did not record" in refused.stderr and "--overwrite" in refused.stderr
    assert contents(out) == before
    code = run_health(project, out, capsys, "--overwrite").code
    (moved,) = out.glob("previous-*")
    assert code == 0 and (moved / "metrics.jsonl").read_bytes() == before["metrics.jsonl"]


def test_a_crashed_run_does_not_block_the_next(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash leaves files behind, but health.json records them: the next run replaces them."""

    def crash(*_: Any) -> None:
        raise RuntimeError("boom in G's step")

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(project.train, "generator_step", crash)
        crashed = run_health(project, out, capsys)
    assert crashed.code == 1 and crashed.report["failed"] == ["no_crash"]
    assert (out / "run_config.yaml").is_file()  # left by the crashed run
    code, report, _ = run_health(project, out, capsys)
    assert code == 0, report
    assert not list(out.glob("previous-*"))


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_sigterm_ends_the_run_through_finally_so_the_next_run_is_not_blocked(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM, as ganspec smoke stops health.py: Python's default would exit without running
    any finally, leaving files no record names."""

    def terminated(*_: Any) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises as soon as the signal arrives

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(project.train, "generator_step", terminated)
        with pytest.raises(SystemExit) as stopped:
            run_health(project, out, capsys)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert (out / "run_config.yaml").is_file()
    assert run_health(project, out, capsys).code == 0


def test_synthetic_data_replaces_the_data_source(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--synthetic checks the plumbing where data.source cannot be read: it never reads it."""

    def unreadable(*_: Any) -> None:
        raise FileNotFoundError("data.source is not here")

    monkeypatch.setattr(project.data, "build_dataset", unreadable)
    monkeypatch.setattr(project.train, "build_dataset", unreadable)
    code, report, _ = run_health(project, tmp_path / "run", capsys, "--synthetic")
    assert code == 0, report
    assert report["data_source"] == "synthetic" and report["synthetic"] is True


# --- what each spec's health.py holds ------------------------------------------------------


def test_a_probability_d_with_a_band_gets_the_band_check_and_a_critic_does_not() -> None:
    base = render_files(validate_file(SPECS / f"{BASE}.yaml"), set())["health.py"]
    assert '"d_fake_in_band"' in base and '"d_fake_healthy":' in base
    report = validate_mutation(BASE, CRITIC)
    assert report.exit_code == 0, [(d.code, d.message) for d in report.diagnostics]
    critic = render_files(report, set())["health.py"]
    assert "d_fake_in_band" not in critic and "d_fake_healthy" not in critic


def test_the_data_shape_range_and_classes_are_literals() -> None:
    conditional = validate_file(SPECS / "cgan-digits-32.yaml").spec
    assert health_context(conditional)["health"] == {
        "shape": "(1, 32, 32)",
        "range": "-1.0, 1.0",
        "classes": 10,
        "source": "digits",
        "band": True,
    }
    points = health_context(validate_file(SPECS / f"{BASE}.yaml").spec)["health"]
    assert points == {
        "shape": "(2,)",
        "range": None,
        "classes": None,
        "source": "ring8",
        "band": True,
    }
