"""health.py, the short-run health report: healthy on this project, and a NaN is a failed check."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import health
import train

REPORT_KEYS = {
    "healthy",
    "failed",
    "checks",
    "steps",
    "device",
    "d_real",
    "d_fake",
    "diversity_ratio",
    "seconds_per_step",
    "peak_rss_mib",
    "metrics",
    "samples",
}
CHECKS = {"losses_finite", "gradients_nonzero", "output_shape", "output_range", "not_collapsed"}


def run_health(
    cfg: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], steps: int = 2
) -> tuple[int, dict[str, Any]]:
    """health.main for 2 steps on the CPU with --json; the exit code and the parsed report."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    flags = ["--steps", str(steps), "--device", "cpu", "--out", str(tmp_path / "run"), "--json"]
    code = health.main(["--config", str(config), *flags])
    stdout = capsys.readouterr().out
    return code, json.loads(stdout)  # exactly one JSON object: training's prints go to stderr


def test_health_report_is_healthy_on_this_project(
    cfg: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two steps of this project pass every health check, and the report has every field."""
    code, report = run_health(cfg, tmp_path, capsys)
    assert set(report) >= REPORT_KEYS
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert set(statuses) >= CHECKS
    assert report["healthy"] is True and report["failed"] == [], report["checks"]
    assert code == 0
    assert report["steps"] == 2 and report["device"] == "cpu"
    # A G without normalization may start more compact than wide data; two steps in, that
    # is a warning (not yet spread out), never a failure.
    assert all(statuses[name] == "pass" for name in CHECKS - {"not_collapsed"})
    assert statuses["not_collapsed"] == "pass" or (
        statuses["not_collapsed"] == "warn" and "initialization" in str(report["checks"])
    )
    assert set(report["d_fake"]) == {"first", "last", "min", "max"}
    rows = train.read_metrics(Path(report["metrics"]))
    assert len(rows) == 2 and all("grad_norm_g" in r and "grad_norm_d" in r for r in rows)
    assert report["samples"] and Path(report["samples"]).is_file()


def test_a_nan_loss_is_a_failed_check_not_a_crash(
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A NaN loss fails the losses_finite check with exit code 1 instead of raising."""

    def nan_loss(*_: Any) -> torch.Tensor:
        return torch.tensor(float("nan"), requires_grad=True)

    monkeypatch.setattr(train, "discriminator_loss", nan_loss)
    code, report = run_health(cfg, tmp_path, capsys)
    assert code == 1
    assert report["healthy"] is False and "losses_finite" in report["failed"]
    losses = next(c for c in report["checks"] if c["name"] == "losses_finite")
    assert losses["status"] == "fail"


def test_a_crash_in_training_is_a_failed_check_with_the_end_of_its_traceback(
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exception in training still gives one JSON report: unhealthy, exit 1, the error."""

    def crash(*_: Any) -> None:
        raise RuntimeError("boom in a training step")

    monkeypatch.setattr(train, "train", crash)
    code, report = run_health(cfg, tmp_path, capsys)
    assert code == 1
    assert report["healthy"] is False and report["failed"] == ["no_crash"]
    assert report["checks"] == [
        {"name": "no_crash", "status": "fail", "detail": "RuntimeError: boom in a training step"}
    ]
    assert report["error"].endswith("RuntimeError: boom in a training step")
    assert set(report) >= REPORT_KEYS


def test_collapse_means_a_shrinking_spread_not_a_compact_start() -> None:
    assert health.check_collapse(0.5, untrained=0.4)["status"] == "pass"
    assert health.check_collapse(0.05, untrained=0.06)["status"] == "warn"  # not spread yet
    assert health.check_collapse(0.05, untrained=0.6)["status"] == "fail"  # collapsed
    assert health.check_collapse(float("nan"), untrained=0.6)["status"] == "fail"


@pytest.mark.generic
def test_health_replaces_its_own_previous_run_and_no_other(
    cfg: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """health.py reruns into its folder, but refuses it once another run changed the files."""
    config, out = tmp_path / "config.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    flags = ["--config", str(config), "--steps", "1", "--device", "cpu", "--out", str(out)]
    for _ in range(2):
        assert health.main([*flags, "--json"]) == 0
    assert not list(out.glob("previous-*"))
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:  # as a resumed run would
        f.write(json.dumps({"step": 2, "epoch": 1}) + "\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert health.main(flags) == train.EXIT_RUN_FOLDER
    assert "--overwrite" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.generic
def test_a_crashed_health_run_does_not_block_the_next_and_reports_every_field(
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash leaves files behind, but health.json records them: the next run replaces them.

    It is not refused (exit 2) as a run health.py did not write. Both reports have the same
    fields."""

    def crash(*_: Any) -> None:
        raise RuntimeError("boom in G's step")

    with monkeypatch.context() as patch:
        patch.setattr(train, "generator_step", crash)
        code, crashed = run_health(cfg, tmp_path, capsys, steps=1)
    assert code == 1 and crashed["failed"] == ["no_crash"]
    assert (tmp_path / "run" / "run_config.yaml").is_file()  # left by the crashed run
    code, report = run_health(cfg, tmp_path, capsys, steps=1)
    assert code == 0, report["checks"]
    assert not list((tmp_path / "run").glob("previous-*"))
    assert set(crashed) == set(report)


@pytest.mark.generic
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_sigterm_mid_run_ends_it_through_finally_so_the_next_run_is_not_blocked(
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM, as ganspec smoke stops health.py, ends the run through its finally blocks.

    Python's default would exit without running any (on smoke's timeout, or Ctrl-C on smoke);
    health.py turns it into an exit that records the run's files, so the next run replaces
    them."""
    before = signal.getsignal(signal.SIGTERM)

    def terminated(*_: Any) -> None:
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler), "SIGTERM would end health.py without running any finally"
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises as soon as the signal arrives

    with monkeypatch.context() as patch:
        patch.setattr(train, "generator_step", terminated)
        with pytest.raises(SystemExit) as stopped:
            run_health(cfg, tmp_path, capsys, steps=1)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
    code, report = run_health(cfg, tmp_path, capsys, steps=1)
    assert code == 0, report["checks"]


@pytest.mark.generic
def test_health_samples_only_from_a_checkpoint_that_matches_its_checksum(
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """health.py samples only from a checkpoint that matches its checksum."""
    trained = train.train

    def train_then_flip_a_bit(cfg: dict[str, Any], args: Any) -> dict[str, Any]:
        summary = trained(cfg, args)
        for name in ("last.pt", "last_good.pt"):
            data = bytearray((Path(args.out) / name).read_bytes())
            data[len(data) // 2] ^= 0x01
            (Path(args.out) / name).write_bytes(bytes(data))
        return summary

    monkeypatch.setattr(train, "train", train_then_flip_a_bit)
    code, report = run_health(cfg, tmp_path, capsys, steps=1)
    assert code == 1 and "checkpoint_intact" in report["failed"]
    intact = next(c for c in report["checks"] if c["name"] == "checkpoint_intact")
    assert "does not match its checksum" in intact["detail"]
