"""The rendered superres export.py, the same for every spec and tested once here on one render
(tests/superres_project.py): the exported program computes what the eager network computes, at
sizes the trace never saw; the CLI keeps only a checked file and says why it cannot export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.superres_project import modules

contract, export, models, weights = modules("contract", "export", "models", "weights")

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")


def test_cli_exports_a_program_that_matches_eager_at_other_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """general-x4v3 with random weights: saved, loaded back, within 1e-4 of eager at two sizes
    other than the traced one, with a free batch size."""
    out = tmp_path / "model.pt2"
    argv = ["--random-weights", "--seed", "2", "--out", str(out), "--height", "12", "--width", "8"]
    assert export.main(argv) == 0
    printed = capsys.readouterr()
    assert "RANDOM WEIGHTS" in printed.err
    assert f"exported {out}" in printed.out
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt2"]  # no temporary file left

    program = torch.export.load(out)
    eager = weights.random_model(2).eval()
    assert export.check_export(program, eager, [(7, 13), (16, 5)]) <= 1e-4
    with torch.no_grad():
        x = torch.rand(3, 3, 6, 9)
        assert program.module()(x).shape == (3, 3, 6 * contract.SCALE, 9 * contract.SCALE)


def test_cli_without_weights_exits_2_with_the_download_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Missing release weights: one line naming where to get them, exit 2, no file written."""
    out = tmp_path / "model.pt2"
    assert export.main(["--root", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert contract.WEIGHTS.url in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_refuses_an_out_that_is_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out naming an existing folder: one line saying so, exit 2, before any export, and
    nothing written into the folder."""
    assert export.main(["--random-weights", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {tmp_path} is a folder") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_scale_2_rrdbnet_exports_with_even_free_sizes() -> None:
    """RRDBNet x2 folds 2x2 blocks: its height and width are exported as 2 * Dim, so every even
    size runs and matches eager, and an odd size is refused with a message before any work."""
    torch.manual_seed(0)
    model = models.RRDBNet(num_block=1, scale=2).eval()  # x2plus's layout, one block: quick
    program = export.export_model(model, height=8, width=12)
    assert export.check_export(program, model, [(6, 10), (14, 4)]) <= 1e-4
    with pytest.raises(ValueError, match="multiples of 2, not 7x10"):
        export.check_export(program, model, [(7, 10)])
    with pytest.raises(ValueError, match="multiples of 2"):
        export.export_model(model, height=9, width=12)


def test_check_sizes_are_new_and_valid() -> None:
    """The CLI compares at sizes other than the traced one, each valid for the network."""
    for model, multiple in (
        (models.RRDBNet(num_block=1, scale=2), 2),
        (models.SRVGGNetCompact(num_conv=1), 1),
    ):
        sizes = export.check_sizes(model, 64, 48)
        assert (64, 48) not in sizes and len(set(sizes)) == 2
        assert all(h % multiple == 0 and w % multiple == 0 for h, w in sizes)
