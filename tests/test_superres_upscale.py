"""The rendered superres upscale.py, the same for every spec and tested once here on one render
(tests/superres_project.py): size = input x outscale, dtype / channel order / channel count
kept, the network sees RGB in [0, 1], an exact nearest-neighbour reference from a zeroed net,
the batch CLI's outputs, skips, failures and refusals, and torchrun shards."""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.superres_project import modules

contract, images, models, upscale, weights = modules(
    "contract", "images", "models", "upscale", "weights"
)
UpscaleError, upscale_array = upscale.UpscaleError, upscale.upscale_array

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")

# Every setting written out: these tests check code that is the same for every spec, whatever
# the rendered spec chose (each project's tests/test_contract.py checks its own settings).
BASE = contract.Settings(
    channel_order="bgr",
    alpha="model",
    grayscale="keep",
    outscale=4.0,
    tile=0,
    tile_pad=10,
    tile_overlap=16,
    pre_pad=0,
    precision="fp32",
    device="cpu",
)


def settings(**changes: object) -> contract.Settings:
    return dataclasses.replace(BASE, **changes)


def pattern(shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    """Random pixels over the dtype's full range."""
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top, size=shape, endpoint=True).astype(dtype)


def nearest(image: np.ndarray, scale: int = 4) -> np.ndarray:
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


@pytest.fixture(scope="module")
def compact() -> torch.nn.Module:
    """general-x4v3 (SRVGGNetCompact) with seeded random weights."""
    torch.manual_seed(0)
    return models.build("realesr-general-x4v3").eval()


@pytest.fixture(scope="module")
def zeroed() -> torch.nn.Module:
    """general-x4v3 with every parameter zero: exactly nearest-neighbour x4."""
    model = models.build("realesr-general-x4v3").eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


# --- one array -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outscale", "expected"),
    [(4.0, (28, 36)), (2.0, (14, 18)), (3.5, (25, 32)), (1.0, (7, 9)), (0.5, (4, 5))],
)
def test_output_size_is_the_input_times_outscale(
    compact: torch.nn.Module, outscale: float, expected: tuple[int, int]
) -> None:
    """7 x 9 in: each side times outscale, rounded half up (7 * 3.5 = 24.5 -> 25)."""
    out = upscale_array(compact, pattern((7, 9, 3)), settings(outscale=outscale))
    assert out.shape == (*expected, 3)


def test_output_size_rounds_half_up_where_upstream_truncates() -> None:
    assert upscale.output_size(427, 640, 3.5) == (1495, 2240)  # upstream: int(1494.5) = 1494
    assert upscale.output_size(3, 3, 0.1) == (1, 1)  # never empty


def test_a_zeroed_compact_net_is_exactly_nearest_neighbour_x4(zeroed: torch.nn.Module) -> None:
    """No released weights needed for an exact reference: bit-exact np.repeat, untiled and
    tiled (blending equal values), with and without pre-pad."""
    image = pattern((13, 11, 3))
    for tiling in [dict(tile=0), dict(tile=5, tile_pad=2, tile_overlap=2)]:
        for pre_pad in (0, 3):
            out = upscale_array(zeroed, image, settings(pre_pad=pre_pad, **tiling))
            assert np.array_equal(out, nearest(image)), (tiling, pre_pad)


def test_pre_pad_is_cropped_back_exactly(compact: torch.nn.Module) -> None:
    """With pre-pad the output has the same size, and away from the padded bottom/right edges
    (beyond the net's 34-pixel reach) the same values as without."""
    image = pattern((40, 40, 3))
    plain = upscale_array(compact, image, settings(tile=0))
    padded = upscale_array(compact, image, settings(tile=0, pre_pad=4))
    assert padded.shape == plain.shape
    inner = 4 * (40 - 34 - 1)
    assert np.array_equal(padded[:inner, :inner], plain[:inner, :inner])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_dtype_is_kept(compact: torch.nn.Module, dtype: type) -> None:
    out = upscale_array(compact, pattern((6, 5, 3), dtype), BASE)
    assert out.dtype == dtype


def test_a_dark_16_bit_image_comes_back_16_bit_and_unscaled(zeroed: torch.nn.Module) -> None:
    """By dtype, never by max value: a uint16 image with max < 256 (upstream would call it
    8-bit) comes back uint16 with the same values enlarged."""
    dark = pattern((6, 5, 3), np.uint16) % 200
    assert dark.max() < 256
    out = upscale_array(zeroed, dark, BASE)
    assert out.dtype == np.uint16
    assert np.array_equal(out, nearest(dark))


def test_the_network_sees_rgb_in_0_1_and_its_output_is_rounded(
    compact: torch.nn.Module,
) -> None:
    """A BGR uint8 array is flipped to RGB floats in [0, 1] for the net, and the net's output
    comes back BGR, clamped and rounded (not truncated) to uint8."""
    image = pattern((6, 7, 3))
    out = upscale_array(compact, image, BASE)
    rgb = torch.from_numpy(image[:, :, ::-1].astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.inference_mode():
        ref = compact(rgb.contiguous()).clamp(0, 1)[0].permute(1, 2, 0).numpy()[:, :, ::-1]
    expected = np.rint(ref * 255).astype(np.uint8)
    # float noise between memory formats can move a value sitting on .5 by one step at most
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert (out == expected).mean() > 0.999
    assert (out != np.floor(ref * 255).astype(np.uint8)).any()  # rounding, not truncation


def network_reference(model: torch.nn.Module, image: np.ndarray) -> np.ndarray:
    """The network's float output for a BGR image, clamped to [0, 1], back in BGR."""
    top = np.iinfo(image.dtype).max
    rgb = torch.from_numpy(image[:, :, ::-1].astype(np.float32) / top).permute(2, 0, 1)[None]
    with torch.inference_mode():
        out = model(rgb.contiguous()).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    return out[:, :, ::-1]


@pytest.mark.parametrize(("source", "target"), [(np.uint8, np.uint16), (np.uint16, np.uint8)])
def test_another_output_dtype_is_rounded_once_from_the_network_output(
    compact: torch.nn.Module, source: type, target: type
) -> None:
    """8-bit in, 16 bits asked for: the network's float output rounded to 16 bits (not 256
    levels times 257); 16 in, 8 out: rounded once to 8 bits, not to 16 and then to 8."""
    image = pattern((6, 7, 3), source)
    out = upscale_array(compact, image, BASE, dtype=target)
    assert out.dtype == target
    expected = np.rint(network_reference(compact, image) * np.iinfo(target).max)
    # float noise between memory formats can move a value sitting on .5 by one step at most
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert (out == expected).mean() > 0.999
    if target == np.uint16:
        assert len(np.unique(out)) > 256


def test_an_output_dtype_other_than_8_or_16_bits_is_refused(compact: torch.nn.Module) -> None:
    with pytest.raises(UpscaleError, match="uint8 or uint16, not float32"):
        upscale_array(compact, pattern((4, 4, 3)), BASE, dtype=np.float32)


@pytest.mark.parametrize("channels", [3, 4])
def test_an_rgb_call_equals_the_bgr_call_with_channels_flipped(
    compact: torch.nn.Module, channels: int
) -> None:
    image = pattern((6, 7, channels))  # BGR or BGRA
    as_rgb = image.copy()
    as_rgb[:, :, :3] = image[:, :, 2::-1]
    bgr_out = upscale_array(compact, image, settings(channel_order="bgr"))
    rgb_out = upscale_array(compact, as_rgb, settings(channel_order="rgb"))
    assert not np.array_equal(rgb_out[:, :, :3], bgr_out[:, :, :3])  # the order matters...
    assert np.array_equal(rgb_out[:, :, 2::-1], bgr_out[:, :, :3])  # ...and is kept
    assert np.array_equal(rgb_out[:, :, 3:], bgr_out[:, :, 3:])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_alpha_through_the_model_is_kept(zeroed: torch.nn.Module, dtype: type) -> None:
    image = pattern((5, 6, 4), dtype)
    out = upscale_array(zeroed, image, settings(alpha="model"))
    assert out.shape == (20, 24, 4) and out.dtype == dtype
    assert np.array_equal(out, nearest(image))


def test_alpha_resized_is_linear_at_the_native_scale(compact: torch.nn.Module) -> None:
    """alpha="resize": the alpha channel is cv2's INTER_LINEAR resize, as upstream, and
    the colors are the same as for the image without alpha."""
    image = pattern((5, 6, 4))
    out = upscale_array(compact, image, settings(alpha="resize"))
    alpha = cv2.resize(image[:, :, 3].astype(np.float32) / 255, (24, 20), cv2.INTER_LINEAR)
    assert np.array_equal(out[:, :, 3], np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8))
    assert np.array_equal(out[:, :, :3], upscale_array(compact, image[:, :, :3], BASE))


def test_alpha_survives_a_non_native_outscale(compact: torch.nn.Module) -> None:
    out = upscale_array(compact, pattern((5, 6, 4)), settings(alpha="resize", outscale=2.5))
    assert out.shape == (13, 15, 4)


@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 1)])
def test_gray_stays_gray(zeroed: torch.nn.Module, shape: tuple[int, ...]) -> None:
    image = pattern(shape)
    out = upscale_array(zeroed, image, settings(grayscale="keep"))
    assert out.shape == (24, 20, *shape[2:])
    assert np.array_equal(out, nearest(image))


def test_gray_can_come_back_in_color(compact: torch.nn.Module) -> None:
    out = upscale_array(compact, pattern((6, 5)), settings(grayscale="color", outscale=3.0))
    assert out.shape == (18, 15, 3) and out.dtype == np.uint8


def test_tiled_output_equals_untiled_through_the_pipeline(compact: torch.nn.Module) -> None:
    """With tile_pad = the net's receptive radius (34), tiling changes no uint8 value beyond
    float rounding at a .5 boundary."""
    image = pattern((30, 44, 3))
    whole = upscale_array(compact, image, settings(tile=0))
    tiled = upscale_array(compact, image, settings(tile=36, tile_pad=34, tile_overlap=8))
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


@pytest.mark.parametrize(
    "bad",
    [
        dict(outscale=-1.0),
        dict(outscale=0.0),
        dict(outscale=float("nan")),
        dict(outscale=1e9),
        dict(tile=16, tile_pad=16),
        dict(tile=16, tile_overlap=16),
        dict(tile=-1),
        dict(pre_pad=-2),
        dict(channel_order="RGB"),
        dict(precision="fp8"),
    ],
)
def test_unusable_settings_are_refused(compact: torch.nn.Module, bad: dict[str, object]) -> None:
    with pytest.raises(UpscaleError):
        upscale_array(compact, pattern((4, 4, 3)), settings(**bad))


@pytest.mark.parametrize(
    ("shape", "outscale", "size"),
    [
        ((4, 4, 3), 20_000.0, "80,000x80,000"),  # a side over 65,535
        ((4, 4, 3), 14_000.0, "56,000x56,000"),  # sides fit, 9.4e9 values do not
        ((3, 5, 4), 10_000.0, "50,000x30,000"),  # 6e9 values with alpha
    ],
)
def test_an_output_too_big_to_make_is_refused_before_the_network_runs(
    compact: torch.nn.Module,
    monkeypatch: pytest.MonkeyPatch,
    shape: tuple[int, ...],
    outscale: float,
    size: str,
) -> None:
    """Not the network's work first and then OpenCV's raw "Insufficient memory": the size is
    checked up front and named."""

    def network_ran(*args: object) -> None:
        pytest.fail("the network ran for an output that cannot be made")

    monkeypatch.setattr(upscale, "tiled_forward", network_ran)
    with pytest.raises(UpscaleError, match=f"would be {size} pixels"):
        upscale_array(compact, pattern(shape), settings(outscale=outscale))


def test_running_out_of_memory_reads_as_such() -> None:
    """MemoryError (numpy), torch's and OpenCV's allocation failures: one line, "out of memory"."""
    opencv = cv2.error("OpenCV(5.0.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed to "
                       "allocate 76800000000 bytes in function 'OutOfMemoryError'")  # fmt: skip
    cpu = RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB")
    cuda = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
    for error in (MemoryError(), opencv, cpu, cuda):
        assert upscale.failure_message(error).startswith("out of memory: "), error
    assert upscale.failure_message(RuntimeError("shape mismatch")) == "RuntimeError: shape mismatch"


def test_a_non_finite_network_output_is_an_error_not_black_pixels() -> None:
    """NaN would clamp and round to 0 silently: it is refused with the precision named."""
    model = models.build("realesr-general-x4v3").eval()
    with torch.no_grad():
        model.body[0].bias.fill_(float("nan"))
    with pytest.raises(UpscaleError, match="NaN or Inf"):
        upscale_array(model, pattern((4, 4, 3)), BASE)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
        np.zeros((4,), np.uint8),
    ],
    ids=["float", "two-channels", "empty", "1-d"],
)
def test_unusable_arrays_are_refused(compact: torch.nn.Module, image: np.ndarray) -> None:
    with pytest.raises(UpscaleError):
        upscale_array(compact, image, BASE)


def test_fp16_on_the_cpu_is_refused_with_the_reason() -> None:
    with pytest.raises(UpscaleError, match="slower than fp32"):
        upscale.model_dtype("fp16", torch.device("cpu"))
    assert upscale.model_dtype("fp32", torch.device("cpu")) == torch.float32


@pytest.mark.skipif(upscale.cpu_has_fast_bf16(), reason="this CPU runs bf16 natively")
def test_bf16_on_a_cpu_without_bf16_instructions_is_refused() -> None:
    with pytest.raises(UpscaleError, match="bf16"):
        upscale.model_dtype("bf16", torch.device("cpu"))


def weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_half_precision_run_leaves_the_callers_model_as_it_was() -> None:
    """prepare_model for fp16 casts a copy: the caller's model keeps its fp32 weights, its
    device and its training mode, so a later fp32 run uses the original weights, not ones
    rounded to fp16 (fp16 runs on CUDA only; prepare_model itself runs it anywhere)."""
    torch.manual_seed(0)
    model = models.build("realesr-general-x4v3").train()
    original = weights_of(model)
    cpu = torch.device("cpu")
    half = upscale.prepare_model(model, cpu, torch.float16)
    assert next(half.parameters()).dtype == torch.float16 and not half.training
    assert model.training
    full = upscale.prepare_model(model, cpu, torch.float32)
    for name, tensor in weights_of(model).items():
        assert tensor.dtype == torch.float32 and torch.equal(tensor, original[name]), name
        assert torch.equal(full.state_dict()[name], original[name]), name


def test_prepared_copies_are_kept_until_a_weight_changes() -> None:
    """One copy per device and dtype, reused while the weights are the same; loading other
    weights into the model in place gives a fresh copy with them. A model that is ready
    already is used itself."""
    model = models.build("realesr-general-x4v3")
    cpu = torch.device("cpu")
    first = upscale.prepare_model(model, cpu, torch.float32)
    assert first is not model and upscale.prepare_model(model, cpu, torch.float32) is first
    assert upscale.prepare_model(first, cpu, torch.float32) is first  # ready: no copy

    torch.manual_seed(5)
    other = models.build("realesr-general-x4v3").state_dict()
    model.load_state_dict(other)
    fresh = upscale.prepare_model(model, cpu, torch.float32)
    assert fresh is not first
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in other.items())


def test_upscale_array_does_not_change_the_callers_model() -> None:
    model = models.build("realesr-general-x4v3").train()
    original = weights_of(model)
    upscale_array(model, pattern((4, 4, 3)), BASE)
    assert model.training
    after = weights_of(model)
    assert all(torch.equal(after[k], v) and after[k].is_contiguous() for k, v in original.items())


def test_devices() -> None:
    expected = "cuda" if torch.cuda.is_available() else "mps" if upscale.mps_available() else "cpu"
    assert upscale.pick_device("auto").type == expected
    assert upscale.pick_device("cpu") == torch.device("cpu")
    with pytest.raises(UpscaleError):
        upscale.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UpscaleError, match="no CUDA"):
            upscale.pick_device("cuda")


# --- torchrun shards -------------------------------------------------------------------------


@pytest.mark.parametrize("world", [1, 2, 3, 5, 8])
def test_shards_are_disjoint_and_cover_every_input(world: int) -> None:
    inputs = [Path(f"img{i:02d}.png") for i in (7, 3, 0, 5, 1, 6, 2, 4, 9, 8, 10)]
    shards = [upscale.shard(inputs, rank, world) for rank in range(world)]
    flat = [path for s in shards for path in s]
    assert sorted(flat) == sorted(inputs)
    assert len(flat) == len(set(flat))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1  # balanced by count


def test_rank_and_world_come_from_torchrun_environment() -> None:
    assert upscale.rank_and_world({}) == (0, 1)
    assert upscale.rank_and_world({"RANK": "2", "WORLD_SIZE": "4"}) == (2, 4)
    with pytest.raises(UpscaleError):
        upscale.rank_and_world({"RANK": "4", "WORLD_SIZE": "4"})


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def no_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Weights paths resolve under an empty folder: the release file is absent."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setattr(weights, "PROJECT", root)
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three small images (8-bit BGR png, 16-bit gray png, jpg) and one broken file."""
    src = tmp_path / "in"
    src.mkdir()
    images.write_image(src / "a.png", pattern((8, 10, 3)), "png")
    images.write_image(src / "b.png", pattern((6, 7), np.uint16), "png")
    images.write_image(src / "c.jpg", pattern((9, 8, 3)), "jpg")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return src


# Every CLI test names the output it expects; what a spec chose is its tests/test_contract.py's.
EXPLICIT = ["--device", "cpu", "--precision", "fp32"]
NAMING = ["--outscale", "4", "--format", "png", "--suffix", "_out", "--bit-depth", "same"]


@pytest.fixture(autouse=True)
def skipping_existing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract, "SKIP_EXISTING", True)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    given = {arg for arg in argv if arg.startswith("--")}
    defaults = [
        arg
        for flag, value in zip(NAMING[::2], NAMING[1::2], strict=True)
        if flag not in given
        for arg in (flag, value)
    ]
    code = upscale.main([*EXPLICIT, *defaults, *argv])  # the test's own flags win
    out, err = capsys.readouterr()
    return code, out, err


def no_temporary_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_cli_upscales_a_folder_reports_a_broken_image_and_skips_existing(
    folder: Path, tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, stdout, err = run([str(folder), "--out", str(out), "--random-weights"], capsys)
    assert code == 1  # one image failed, the rest were written
    assert sorted(p.name for p in out.iterdir()) == ["a_out.png", "b_out.png", "c_out.png"]
    a, b = images.read_image(out / "a_out.png"), images.read_image(out / "b_out.png")
    assert a.shape == (32, 40, 3) and a.dtype == np.uint8
    assert b.shape == (24, 28) and b.dtype == np.uint16  # gray, 16-bit: kept
    assert "3 written, 0 skipped, 1 failed" in stdout
    assert re.search(r"^\[1/4\] a\.png 8x10 -> 32x40 \d+\.\d s$", err, re.M)
    assert re.search(r"^\[3/4\] broken\.png FAILED: cannot read", err, re.M)
    assert "RANDOM WEIGHTS" in err
    assert "Traceback" not in err
    assert no_temporary_files(out)

    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    code, stdout, _ = run([str(folder), "--out", str(out), "--random-weights"], capsys)
    assert code == 1 and "0 written, 3 skipped, 1 failed" in stdout
    assert before == {p: p.stat().st_mtime_ns for p in out.iterdir()}

    (folder / "broken.png").unlink()
    again = [str(folder), "--out", str(out), "--random-weights", "--overwrite"]
    code, stdout, _ = run(again, capsys)
    assert code == 0 and "3 written, 0 skipped, 0 failed" in stdout


def test_cli_outscale_format_and_bit_depth(
    folder: Path, tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "broken.png").unlink()
    out = tmp_path / "out"
    argv = [str(folder / "b.png"), "--out", str(out), "--random-weights", "--outscale", "2"]
    code, _, _ = run([*argv, "--format", "npy", "--bit-depth", "8", "--suffix", "_x2"], capsys)
    assert code == 0
    result = np.load(out / "b_x2.npy")
    assert result.shape == (12, 14) and result.dtype == np.uint8


def test_cli_bit_depth_16_of_an_8_bit_image_keeps_the_network_precision(
    folder: Path, tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--bit-depth 16 on an 8-bit file: 16-bit values from the float output, not x * 257."""
    out = tmp_path / "out"
    code, _, _ = run([str(folder / "a.png"), "--out", str(out), "--random-weights",
                      "--bit-depth", "16"], capsys)  # fmt: skip
    assert code == 0
    result = images.read_image(out / "a_out.png")
    assert result.dtype == np.uint16
    inner = result[(result > 0) & (result < 65535)]  # random weights clamp many to the ends
    assert inner.size > 100 and (inner % 257 != 0).mean() > 0.9


def test_cli_turns_a_tagged_phone_photo_upright(
    tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JPEG stored landscape (8x12) with EXIF orientation 6 (rotate 90 clockwise, a phone
    held upright): the output is portrait, 48x32, as viewers show the photo."""
    ok, encoded = cv2.imencode(".jpg", pattern((8, 12, 3)))
    assert ok
    data = encoded.tobytes()
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)  # Orientation, SHORT, 1 value: 6
    exif = b"Exif\x00\x00MM\x00\x2a" + struct.pack(">IH", 8, 1) + entry + bytes(4)
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    src = tmp_path / "in"
    src.mkdir()
    (src / "portrait.jpg").write_bytes(data[:2] + app1 + data[2:])
    out = tmp_path / "out"
    code, _, _ = run([str(src), "--out", str(out), "--random-weights"], capsys)
    assert code == 0
    assert images.read_image(out / "portrait_out.png").shape == (48, 32, 3)


def stderr_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("make", "flags", "message"),
    [
        (lambda d: d, [], "is empty"),
        (lambda d: d / "missing", [], "does not exist"),
        (None, ["--format", "jpg", "--bit-depth", "16"], "8 bits only"),
        (None, ["--format", "jpg"], "b.png"),  # 16-bit input, bit depth "same": jpg refused
        (None, ["--outscale", "-2"], "outscale"),
        (None, ["--outscale", "1e9"], "more than 65,535 pixels a side"),
        (None, ["--tile", "16", "--tile-pad", "16"], "tile-pad"),
        (None, ["--precision", "fp16"], "fp16"),
        (None, ["--tile", "many"], "invalid int"),
    ],
    ids=[
        "empty-folder",
        "missing-input",
        "jpg-16-bit",
        "16-bit-input-to-jpg",
        "negative-outscale",
        "huge-outscale",
        "pad-not-below-tile",
        "fp16-on-cpu",
        "not-a-number",
    ],
)
def test_cli_refuses_bad_input_before_any_work(
    folder: Path,
    tmp_path: Path,
    no_release: Path,
    capsys: pytest.CaptureFixture[str],
    make: object,
    flags: list[str],
    message: str,
) -> None:
    source = folder
    if callable(make):
        empty = tmp_path / "empty"
        empty.mkdir()
        source = make(empty)
    out = tmp_path / "out"
    code, _, err = run([str(source), "--out", str(out), "--random-weights", *flags], capsys)
    assert code == 2
    assert message in stderr_line(err)
    assert not out.exists()  # nothing written, not even the folder


def test_cli_refuses_an_input_folder_it_may_not_list(
    folder: Path,
    tmp_path: Path,
    no_release: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def denied(self: Path) -> Iterator[Path]:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    out = tmp_path / "out"
    code, _, err = run([str(folder), "--out", str(out), "--random-weights"], capsys)
    assert code == 2
    assert "Permission denied" in stderr_line(err)
    assert not out.exists()


@pytest.mark.parametrize("source", ["gray.png", "gray.jpg"])
def test_cli_refuses_gray_into_webp_before_any_work(
    tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    """OpenCV writes webp in color only: a gray input (a PNG decoded, a JPEG by its header)
    is refused up front, as alpha into jpg is; asking for color output is accepted."""
    src = tmp_path / "in"
    images.write_image(src / "color.png", pattern((4, 4, 3)), "png")
    images.write_image(src / source, pattern((4, 5)), source.split(".")[1])
    out = tmp_path / "out"
    argv = [str(src), "--out", str(out), "--random-weights", "--format", "webp", "--bit-depth", "8"]
    code, _, err = run(argv, capsys)
    assert code == 2
    line = stderr_line(err)
    assert source in line and "no gray mode" in line
    assert not out.exists()

    code, _, _ = run([*argv, "--grayscale", "color"], capsys)
    assert code == 0
    assert images.read_image(out / f"{source.split('.')[0]}_out.webp").shape == (16, 20, 3)


def test_cli_refuses_missing_weights(
    folder: Path, tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, _, err = run([str(folder), "--out", str(out)], capsys)
    assert code == 2
    line = stderr_line(err)
    assert "not found" in line and contract.WEIGHTS.url in line
    assert not out.exists()


def test_cli_refuses_two_inputs_writing_one_output(
    tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    images.write_image(src / "x.png", pattern((4, 4, 3)), "png")
    images.write_image(src / "x.webp", pattern((4, 4, 3)), "webp")
    code, _, err = run([str(src), "--out", str(tmp_path / "out"), "--random-weights"], capsys)
    assert code == 2 and "both be written" in stderr_line(err)


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink"])
def test_cli_refuses_an_out_folder_that_holds_the_inputs(
    folder: Path,
    tmp_path: Path,
    no_release: Path,
    capsys: pytest.CaptureFixture[str],
    spelling: str,
) -> None:
    """--out the input folder, however spelled: refused before any work. Each rerun would
    upscale the last outputs again (a_out_out.png), and --overwrite would replace an input
    named like an output (the user's own a_out.png)."""
    images.write_image(folder / "a_out.png", pattern((4, 4, 3)), "png")  # the user's, not ours
    out = {"same": folder, "dot": folder / ".", "symlink": tmp_path / "link"}[spelling]
    if spelling == "symlink":
        out.symlink_to(folder, target_is_directory=True)
    before = listing(folder)
    code, _, err = run([str(folder), "--out", str(out), "--random-weights", "--overwrite"], capsys)
    assert code == 2
    assert "is the folder of the inputs" in stderr_line(err)
    assert listing(folder) == before


def test_cli_refuses_an_output_that_is_another_input(
    folder: Path, tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not only an output replacing its own source: out/a_out.png being (a link to) b.png
    is refused too."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_out.png").symlink_to(folder / "b.png")
    before = listing(folder)
    code, _, err = run([str(folder), "--out", str(out), "--random-weights", "--overwrite"], capsys)
    assert code == 2
    assert re.search(r"a_out\.png, is the input .*b\.png", stderr_line(err))
    assert listing(folder) == before and [p.name for p in out.iterdir()] == ["a_out.png"]


def test_cli_refuses_outputs_whose_names_differ_only_in_case(
    tmp_path: Path, no_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Photo.png and photo.jpg give Photo_out.png and photo_out.png: one file on macOS and
    Windows, so refused everywhere."""
    src = tmp_path / "in"
    images.write_image(src / "Photo.png", pattern((4, 4, 3)), "png")
    images.write_image(src / "photo.jpg", pattern((4, 4, 3)), "jpg")
    out = tmp_path / "out"
    code, _, err = run([str(src), "--out", str(out), "--random-weights"], capsys)
    assert code == 2 and "both be written" in stderr_line(err)
    assert not out.exists()


def test_upscale_files_refuses_to_write_into_the_input_folder(
    zeroed: torch.nn.Module, folder: Path
) -> None:
    """The library entry point refuses as the command line does, before any work."""
    (folder / "broken.png").unlink()
    before = listing(folder)
    inputs = images.list_inputs(folder)
    with pytest.raises(UpscaleError, match="is the folder of the inputs"):
        upscale.upscale_files(zeroed, inputs, folder, BASE, progress=False)
    assert listing(folder) == before


def test_a_rank_processes_only_its_shard(
    folder: Path,
    tmp_path: Path,
    no_release: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under torchrun (RANK 1 of 2) a run writes only every second file of the sorted list."""
    (folder / "broken.png").unlink()  # sorted: a.png, b.png, c.jpg
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = tmp_path / "out"
    code, stdout, _ = run([str(folder), "--out", str(out), "--random-weights"], capsys)
    assert code == 0 and stdout.startswith("rank 1/2: 1 written")
    assert [p.name for p in out.iterdir()] == ["b_out.png"]
