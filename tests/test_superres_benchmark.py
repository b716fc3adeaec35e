"""benchmarks/superres.py: its port of upstream's RealESRGANer is faithful, and a quick run
prints the side-by-side table.

The port is checked against exact expectations that need no released weights (a zeroed
SRVGGNetCompact is a nearest-neighbour x4, so every tile lands where upstream's index
arithmetic puts it) and against the project's own ``upscale_array`` on the same random weights:
both do what realesrgan 0.3.0 does untiled, so they agree within one 8-bit level.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
import torch

from tests.project_imports import project_imports

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "superres_bench", ROOT / "benchmarks" / "superres.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's default project: its preset rendered by this checkout's ganspec."""
    return bench.render(bench.PRESET, tmp_path_factory.mktemp("superres-bench"))


@pytest.fixture()
def project(rendered: Path) -> Iterator[dict[str, ModuleType]]:
    """The rendered project's modules (by name, as the benchmark imports them), one thread."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    with project_imports(rendered) as modules:
        yield modules
    torch.set_num_threads(saved)


def release_file(model: torch.nn.Module, folder: Path) -> Path:
    path = folder / "weights.pth"
    torch.save({"params_ema": model.state_dict()}, path)
    return path


def zeroed_compact(project: dict[str, ModuleType]) -> torch.nn.Module:
    model = project["models"].SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4)
    for parameter in model.parameters():
        torch.nn.init.zeros_(parameter)
    return model


def photo(height: int, width: int) -> np.ndarray:
    return bench.photos((height, width))[0]


@pytest.mark.parametrize(("tile", "pre_pad"), [(0, 0), (0, 10), (8, 0), (7, 3)])
def test_the_port_of_a_zeroed_compact_net_is_exactly_nearest_x4(
    project: dict[str, ModuleType], tmp_path: Path, tile: int, pre_pad: int
) -> None:
    """SRVGGNetCompact with zero weights returns the nearest-neighbour upscale of its input, so
    the port must give exactly that, untiled or tiled, with or without pre-padding: any tile
    pasted off its place, a colour swap or a wrong crop shows."""
    model = zeroed_compact(project)
    upsampler = bench.RealESRGANer(
        4, release_file(model, tmp_path), model, tile=tile, tile_pad=2, pre_pad=pre_pad,
        device=torch.device("cpu"),
    )  # fmt: skip
    image = photo(13, 19)
    output, mode = upsampler.enhance(image, outscale=4)
    assert mode == "RGB"
    np.testing.assert_array_equal(output, image.repeat(4, axis=0).repeat(4, axis=1))


def test_the_port_pads_to_the_fold_of_a_x2_net_and_crops_back(
    project: dict[str, ModuleType], tmp_path: Path
) -> None:
    """Scale 2 (RRDBNet folds 2x2 pixels): an odd-sized image is mod-padded for the network
    and the output cropped back to exactly twice its size, as upstream's mod_pad does; the
    project's upscale_array agrees on the same weights."""
    torch.manual_seed(0)
    model = project["models"].RRDBNet(scale=2, num_feat=8, num_block=1, num_grow_ch=4)
    path = release_file(model, tmp_path)
    image = photo(11, 15)
    output, _ = bench.RealESRGANer(2, path, model, pre_pad=0).enhance(image, outscale=2)
    assert output.shape == (22, 30, 3)
    settings = project["contract"].Settings(outscale=2.0, tile=0, pre_pad=0, device="cpu")
    ours = project["upscale"].upscale_array(model, image, settings)
    assert np.abs(ours.astype(int) - output.astype(int)).max() <= 1


@pytest.mark.parametrize("kind", ["gray", "bgra16"])
def test_the_port_and_ours_agree_on_gray_and_16_bit_alpha(
    project: dict[str, ModuleType], tmp_path: Path, kind: str
) -> None:
    """The port's gray path (three equal channels in, luma out) and its 16-bit alpha path
    (alpha through the network as gray) match the project's on the same random weights: a
    16-bit image bright enough for upstream's ``max > 256`` guess to say 16 bits."""
    torch.manual_seed(1)
    model = project["models"].SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4)
    path = release_file(model, tmp_path)
    image = photo(9, 12)
    if kind == "gray":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    else:
        alpha = np.linspace(0, 255, image.size // 3, dtype=np.float32).reshape(9, 12, 1)
        image = np.concatenate([image, alpha], axis=2).astype(np.uint16) * 257
    reference, mode = bench.RealESRGANer(4, path, model, pre_pad=0).enhance(image, outscale=4)
    assert mode == ("L" if kind == "gray" else "RGBA")
    settings = project["contract"].Settings(outscale=4.0, tile=0, pre_pad=0, device="cpu")
    ours = project["upscale"].upscale_array(model, image, settings)
    assert ours.dtype == reference.dtype and ours.shape == reference.shape
    tolerance = 1 if kind == "gray" else 257  # one 8-bit level in 16-bit units
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= tolerance


def test_a_quick_run_prints_the_table_and_the_port_agrees_with_ours(
    project: dict[str, ModuleType],
    rendered: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--quick``: both sides run each model untiled and tiled on the two photos; untiled on
    the same weights, the reference port and upscale_array differ by at most one 8-bit level."""
    names = ["realesr-general-x4v3", "RealESRGAN_x4plus_anime_6B"]
    raw_path = tmp_path / "raw.json"
    flags = ["--quick", "--no-memory", "--project", str(rendered), "--json", str(raw_path)]
    bench.main([*flags, "--models", *names])
    printed = capsys.readouterr().out
    for name in names:
        for mode in ("untiled", "tiled"):
            assert f"| {name} | " in printed and f" | {mode} | " in printed
    raw = json.loads(raw_path.read_text())
    assert [result["model"] for result in raw["results"]] == names
    for result in raw["results"]:
        assert result["ours_vs_reference_untiled"] <= 1, result["model"]
        assert all(value > 0 for value in result["mp_per_s"].values())


def test_a_configuration_child_measures_the_memory_of_its_run(
    project: dict[str, ModuleType],
    rendered: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The peak-memory child reports how far its peak RSS rose above the loaded state while
    upscaling (here in this process: the measurement is of its own process either way)."""
    modules = bench.project_modules(rendered)
    config = {
        "model": "realesr-general-x4v3",
        "weights": str(bench.write_weights(modules, "realesr-general-x4v3", tmp_path)),
        "project": str(rendered),
        "crop": [48, 64],
        "device": "cpu",
        "tile": 16,
        "tile_pad": 4,
        "tile_overlap": 4,
        "pre_pad": 0,
        "threads": 1,
        "side": "ours",
        "tiled": False,
    }
    bench.child(config)
    measured = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run"]
    if measured["hwm_delta_kib"] is None:
        pytest.skip("this kernel cannot reset the peak-RSS mark (/proc/self/clear_refs)")
    # the float32 output of one photo before its 8-bit conversion, 192x256x3, is 0.56 MiB;
    # the network's 48x64x64 feature maps are 0.75 MiB each
    assert measured["hwm_delta_kib"] > 1024
