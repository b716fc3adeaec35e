"""The rendered superres images.py, the same for every spec and tested once here on one render
(tests/superres_project.py): image files keep what they hold: dtype by the file's bit depth
(not by pixel values), gray, BGR and BGRA as stored; unusable inputs and lossy output requests
are refused with one line; writes are atomic."""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.superres_project import modules

(images,) = modules("images")
ImageError = images.ImageError

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")


def pattern(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    """Random pixels over the dtype's full range."""
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(12, 16), (12, 16, 3), (12, 16, 4)], ids=["gray", "bgr", "bgra"])
def test_png_round_trip_keeps_dtype_channels_and_values(
    tmp_path: Path, dtype: type, shape: tuple[int, ...]
) -> None:
    """A PNG written and read back is the same array: dtype, gray/BGR/BGRA and every value."""
    image = pattern(shape, dtype)
    images.write_image(tmp_path / "x.png", image, "png")
    back = images.read_image(tmp_path / "x.png")
    assert back.dtype == dtype
    assert np.array_equal(back, image)


def test_channel_order_is_bgr_as_opencv_stores_it(tmp_path: Path) -> None:
    """A pure blue pixel written by OpenCV reads back as (255, 0, 0): BGR, not RGB."""
    blue = np.zeros((2, 3, 3), np.uint8)
    blue[..., 0] = 255
    cv2.imwrite(str(tmp_path / "blue.png"), blue)
    assert images.read_image(tmp_path / "blue.png")[0, 0].tolist() == [255, 0, 0]


def test_a_dark_16_bit_image_stays_16_bit(tmp_path: Path) -> None:
    """Bit depth comes from the file, not from max(): a 16-bit image with max < 256 is 16-bit
    (upstream's `max > 256` guess makes it 8-bit)."""
    dark = pattern((12, 16, 3), np.uint16) % 200
    assert dark.max() < 256
    images.write_image(tmp_path / "dark.png", dark, "png")
    back = images.read_image(tmp_path / "dark.png")
    assert back.dtype == np.uint16
    assert np.array_equal(back, dark)
    assert images.convert_depth(back, "same", back.dtype).dtype == np.uint16


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """``jpeg`` with an EXIF APP1 segment holding just the orientation tag (0x0112), as a
    camera writes it (big-endian TIFF, one IFD entry), right after the start marker."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # SHORT, 1 value, padded
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + bytes(4)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


# What each EXIF orientation asks a viewer to do to the stored pixels (the EXIF standard's
# table; PIL's ImageOps.exif_transpose does the same).
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # rotated 180
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),  # transposed
    6: lambda a: np.rot90(a, -1),  # rotated 90 clockwise: a phone held upright
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transversed
    8: lambda a: np.rot90(a, 1),  # rotated 90 counter-clockwise
}


@pytest.mark.parametrize("channels", [1, 3])
def test_a_jpegs_exif_orientation_is_applied(tmp_path: Path, channels: int) -> None:
    """Each of the 8 orientations: the pixels come back as a viewer shows them (the stored
    ones, decoded from the same bytes, turned as the tag says); gray stays gray."""
    shape = (12, 20) if channels == 1 else (12, 20, 3)
    ok, encoded = cv2.imencode(".jpg", pattern(shape, np.uint8))
    assert ok
    stored = images.read_image(_write(tmp_path / "plain.jpg", encoded.tobytes()))
    for orientation, upright in UPRIGHT.items():
        path = _write(
            tmp_path / f"o{orientation}.jpg", with_orientation(encoded.tobytes(), orientation)
        )
        assert np.array_equal(images.read_image(path), upright(stored)), orientation


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_other_formats_are_read_as_stored(tmp_path: Path) -> None:
    """A PNG keeps its alpha and 16 bits: only JPEGs are decoded the orientation-aware way."""
    image = pattern((6, 5, 4), np.uint16)
    images.write_image(tmp_path / "x.png", image, "png")
    assert np.array_equal(images.read_image(tmp_path / "x.png"), image)


def test_npy_round_trip_keeps_the_array(tmp_path: Path) -> None:
    image = pattern((5, 7, 4), np.uint16)
    images.write_image(tmp_path / "x.npy", image, "npy")
    assert np.array_equal(images.read_image(tmp_path / "x.npy"), image)


def test_an_unreadable_file_is_an_image_error(tmp_path: Path) -> None:
    """Garbage bytes named .png, and an empty file: one line naming the file."""
    (tmp_path / "garbage.png").write_bytes(b"not a png at all" * 8)
    (tmp_path / "empty.png").write_bytes(b"")
    for name in ("garbage.png", "empty.png"):
        with pytest.raises(ImageError, match="not an image OpenCV can decode") as caught:
            images.read_image(tmp_path / name)
        assert name in str(caught.value)


def test_a_float_image_is_refused_clearly(tmp_path: Path) -> None:
    """OpenCV decodes float TIFFs; the pipeline takes 8 and 16 bits and says so."""
    ok, data = cv2.imencode(".tiff", np.zeros((4, 4), np.float32))
    assert ok
    (tmp_path / "float.tiff").write_bytes(data.tobytes())
    with pytest.raises(ImageError, match="float32 pixels; only 8- and 16-bit"):
        images.read_image(tmp_path / "float.tiff")


def test_a_non_ascii_path_reads_and_writes(tmp_path: Path) -> None:
    folder = tmp_path / "фото 写真"
    image = pattern((6, 5, 3), np.uint8)
    images.write_image(folder / "ç.png", image, "png")
    assert images.list_inputs(folder) == [folder / "ç.png"]
    assert np.array_equal(images.read_image(folder / "ç.png"), image)


def test_a_folder_lists_its_images_sorted_by_suffix_in_any_case(tmp_path: Path) -> None:
    """Not recursive; suffixes match in any case; other files and hidden files are skipped."""
    for name in ("b.PNG", "a.jpg", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.png").write_bytes(b"")
    assert images.list_inputs(tmp_path) == [tmp_path / "a.jpg", tmp_path / "b.PNG"]
    assert images.list_inputs(tmp_path / "notes.txt") == [tmp_path / "notes.txt"]


def test_empty_missing_and_imageless_inputs_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="is empty"):
        images.list_inputs(tmp_path / "empty")
    with pytest.raises(ImageError, match="does not exist"):
        images.list_inputs(tmp_path / "nowhere")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("hi")
    with pytest.raises(ImageError, match=r"no images in folder .*\.png"):
        images.list_inputs(tmp_path / "docs")


def test_an_input_behind_a_folder_without_permission_is_an_image_error(
    tmp_path: Path, stat_denied: Callable[[Path], None]
) -> None:
    """A file or folder that cannot even be looked at (a folder above it this user may not
    enter): one line with the reason, not a PermissionError traceback."""
    for name in ("locked.png", "locked"):
        stat_denied(tmp_path / name)
        with pytest.raises(ImageError, match=rf"cannot read input .*{name}: Permission denied"):
            images.list_inputs(tmp_path / name)


def test_a_folder_that_cannot_be_listed_is_an_image_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(self: Path) -> Iterator[Path]:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    with pytest.raises(ImageError, match=r"cannot read input folder .*: Permission denied"):
        images.list_inputs(tmp_path)


def test_sklearn_photos_are_listed_and_read() -> None:
    """scikit-learn's two photos, found offline: 427x640 BGR uint8."""
    photos = images.list_inputs(images.SKLEARN_PHOTOS)
    assert [p.name for p in photos] == ["china.jpg", "flower.jpg"]
    for photo in photos:
        image = images.read_image(photo)
        assert image.shape == (427, 640, 3)
        assert image.dtype == np.uint8


def test_sklearn_photos_without_scikit_learn_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(images.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImageError, match="pip install scikit-learn"):
        images.list_inputs(images.SKLEARN_PHOTOS)


@pytest.mark.parametrize(
    ("channels", "dtype", "fmt", "words"),
    [
        (3, np.uint16, "jpg", "8-bit pixels only"),
        (1, np.uint16, "webp", "8-bit pixels only"),
        (4, np.uint8, "jpg", "no alpha channel"),
        (1, np.uint8, "webp", "no gray mode"),
        (3, np.float32, "png", "not float32"),
        (3, np.uint8, "gif", "unknown output format"),
    ],
)
def test_what_a_format_would_lose_is_refused_before_any_work(
    tmp_path: Path, channels: int, dtype: type, fmt: str, words: str
) -> None:
    """16 bits into jpg or webp, alpha into jpg, gray into webp (OpenCV writes it as 3
    channels): refused, and write_image writes nothing."""
    with pytest.raises(ImageError, match=words):
        images.check_writable(channels, dtype, fmt)
    shape = (4, 4) if channels == 1 else (4, 4, channels)
    with pytest.raises(ImageError, match=words):
        images.write_image(tmp_path / f"x.{fmt}", np.zeros(shape, dtype), fmt)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("channels", "dtype", "fmt"),
    [(3, np.uint8, "jpg"), (4, np.uint8, "webp"), (4, np.uint16, "png"), (4, np.float32, "npy")],
)
def test_what_a_format_holds_is_accepted(channels: int, dtype: type, fmt: str) -> None:
    images.check_writable(channels, dtype, fmt)


def test_write_image_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted before the rename: no file at the target and no temporary file left; an
    existing output is left as it was."""

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    target = tmp_path / "out" / "x.png"
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        images.write_image(target, pattern((8, 8, 3), np.uint8), "png")
    assert list((tmp_path / "out").iterdir()) == []

    monkeypatch.undo()
    images.write_image(target, pattern((8, 8, 3), np.uint8, seed=1), "png")
    before = target.read_bytes()

    def failing(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(ImageError, match=r"cannot write .*x\.png: No space left on device"):
        images.write_image(target, pattern((8, 8, 3), np.uint8, seed=2), "png")
    assert target.read_bytes() == before
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.png"]


def test_jpg_and_webp_write_8_bit_images(tmp_path: Path) -> None:
    """jpg at the quality asked for (lossy, close), webp lossless (exact where alpha > 0:
    libwebp drops the color of fully transparent pixels)."""
    image = np.full((16, 16, 3), 120, np.uint8)
    images.write_image(tmp_path / "x.jpg", image, "jpg", jpeg_quality=95)
    assert np.abs(images.read_image(tmp_path / "x.jpg").astype(int) - 120).max() <= 2
    noisy = pattern((9, 11, 4), np.uint8)
    noisy[..., 3] = np.maximum(noisy[..., 3], 1)
    images.write_image(tmp_path / "x.webp", noisy, "webp")
    assert np.array_equal(images.read_image(tmp_path / "x.webp"), noisy)


def test_a_jpeg_header_says_whether_it_is_gray(tmp_path: Path) -> None:
    """Without decoding: 1 channel for a gray JPEG, 3 for a color one, None for other files."""
    images.write_image(tmp_path / "gray.jpg", pattern((5, 6), np.uint8), "jpg")
    images.write_image(tmp_path / "color.jpg", pattern((5, 6, 3), np.uint8), "jpg")
    images.write_image(tmp_path / "x.png", pattern((5, 6), np.uint8), "png")
    assert images.jpeg_channels(tmp_path / "gray.jpg") == 1
    assert images.jpeg_channels(tmp_path / "color.jpg") == 3
    assert images.jpeg_channels(tmp_path / "x.png") is None
    assert images.jpeg_channels(tmp_path / "missing.jpg") is None


def test_output_path_names_the_result_after_the_source(tmp_path: Path) -> None:
    assert images.output_path(Path("in/china.jpg"), tmp_path, "png", "_out") == (
        tmp_path / "china_out.png"
    )
    assert images.output_path(Path("a.b.png"), tmp_path, "npy", "") == tmp_path / "a.b.npy"


def test_convert_depth_rounds_and_keeps_the_ends() -> None:
    """16 -> 8 is round(x / 257), 8 -> 16 is x * 257; 0 and the maximum map to each other."""
    x16 = np.arange(65536, dtype=np.uint16)
    x8 = images.convert_depth(x16, "8", np.uint16)
    assert x8.dtype == np.uint8
    assert np.array_equal(x8, np.round(x16 / 257).astype(np.uint8))
    assert x8[128] == 0 and x8[129] == 1  # 128/257 < 0.5 < 129/257: rounding, not truncation
    x = np.arange(256, dtype=np.uint8)
    assert np.array_equal(images.convert_depth(x, "16", np.uint8), x.astype(np.uint16) * 257)
    assert np.array_equal(images.convert_depth(images.convert_depth(x, "16", np.uint8), "8", x), x)


def test_convert_depth_from_the_network_range() -> None:
    """Float [0, 1] output goes to the source's depth ('same') or the one asked for, clipped."""
    out = np.array([-0.1, 0.0, 0.5, 1.0, 1.2, np.nan], np.float32)
    assert images.convert_depth(out, "same", np.uint8).tolist() == [0, 0, 128, 255, 255, 0]
    assert images.convert_depth(out, "same", np.uint16).tolist() == [0, 0, 32768, 65535, 65535, 0]
    assert images.convert_depth(out, "8", np.uint16).dtype == np.uint8


def test_outputs_get_the_usual_file_permissions(tmp_path: Path) -> None:
    """An atomically written output is as readable as a plainly written file (the umask's
    mode, not a temporary file's private 0600)."""
    (tmp_path / "plain").write_bytes(b"")
    images.write_image(tmp_path / "x.png", pattern((4, 4), np.uint8), "png")
    mode = (tmp_path / "plain").stat().st_mode & 0o777
    assert (tmp_path / "x.png").stat().st_mode & 0o777 == mode
