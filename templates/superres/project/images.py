"""Image files in and out, in OpenCV's convention: BGR (or BGRA, or gray) numpy arrays.

What comes back from ``read_image`` is what the file holds: HxW gray, HxWx3 BGR or HxWx4 BGRA,
uint8 or uint16 by the file's own bit depth (never guessed from pixel values, so a dark 16-bit
image stays 16-bit); a JPEG with an EXIF orientation tag (phone photos) comes back upright,
as viewers show it (upstream ignores the tag and writes such photos sideways).
``write_image`` never leaves a partial file: it encodes in memory, writes a temporary file
next to the target, and renames it into place. ``check_writable`` refuses, before any work
is done, what a format would silently lose or change (16 bits or alpha into jpg, 16 bits
into webp: OpenCV's encoders for those are 8-bit and would drop them without a word; gray
into webp, which OpenCV writes as 3 channels).
"""

from __future__ import annotations

import importlib.util
import io
import stat
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

import contract
from storage import write_atomic

SKLEARN_PHOTOS = "sklearn-photos"  # scikit-learn's china.jpg and flower.jpg, read offline
SKLEARN_PHOTO_NAMES = ("china.jpg", "flower.jpg")
FORMATS = ("png", "jpg", "webp", "npy")
EIGHT_BIT_FORMATS = ("jpg", "webp")  # OpenCV encodes these at 8 bits only
ALPHA_FORMATS = ("png", "webp", "npy")
GRAY_FORMATS = ("png", "jpg", "npy")  # OpenCV's webp encoder writes gray as 3 channels
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")
PIXEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


class ImageError(Exception):
    """An input or output the pipeline cannot use; the message is one line."""


def sklearn_photos() -> list[Path]:
    """scikit-learn's two bundled photos, found without importing scikit-learn (or PIL)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ImageError(
            f"{SKLEARN_PHOTOS} needs scikit-learn (pip install scikit-learn), "
            "or pass an image file or folder instead"
        )
    folder = Path(spec.origin).parent / "datasets" / "images"
    photos = [folder / name for name in SKLEARN_PHOTO_NAMES]
    for photo in photos:
        if not photo.is_file():
            raise ImageError(f"scikit-learn's photo {photo} is missing; reinstall scikit-learn")
    return photos


def list_inputs(
    source: str | Path, suffixes: tuple[str, ...] = contract.INPUT_SUFFIXES
) -> list[Path]:
    """The images to process: one file (any format OpenCV reads), a folder's images (not
    recursive, sorted by name, matched by suffix in any case, hidden files skipped), or
    ``SKLEARN_PHOTOS``."""
    if str(source) == SKLEARN_PHOTOS:
        return sklearn_photos()
    path = Path(source)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise ImageError(f"input {path} does not exist") from None
    except OSError as error:  # no permission on a folder above it, a symlink loop, ...
        raise ImageError(f"cannot read input {path}: {error.strerror or error}") from None
    if stat.S_ISREG(mode):
        return [path]
    if not stat.S_ISDIR(mode):
        raise ImageError(f"input {path} is neither a file nor a folder")
    wanted = {suffix.lower() for suffix in suffixes}
    try:
        entries = sorted(child for child in path.iterdir() if not child.name.startswith("."))
        images = [child for child in entries if child.is_file() and child.suffix.lower() in wanted]
    except OSError as error:
        raise ImageError(f"cannot read input folder {path}: {error.strerror or error}") from None
    if not entries:
        raise ImageError(f"input folder {path} is empty")
    if not images:
        raise ImageError(
            f"no images in folder {path} (looked for {', '.join(sorted(wanted))}; "
            "subfolders are not searched)"
        )
    return images


def channels_of(image: np.ndarray) -> int:
    """1 for a 2-D (gray) array, else the size of the last axis."""
    return 1 if image.ndim == 2 else int(image.shape[2])


def checked(image: np.ndarray, name: str | Path) -> np.ndarray:
    """``image`` if it is an image the pipeline handles: HxW, HxWx3 or HxWx4, 8 or 16 bits
    (HxWx1 is squeezed to HxW)."""
    if image.dtype not in PIXEL_DTYPES:
        raise ImageError(
            f"{name} holds {image.dtype} pixels; only 8- and 16-bit integer images are supported"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ImageError(
            f"{name} has shape {image.shape}; expected HxW (gray), HxWx3 (BGR) or HxWx4 (BGRA)"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"{name} is empty ({image.shape[0]}x{image.shape[1]} pixels)")
    return image


SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def jpeg_segments(path: Path, wanted: frozenset[int]) -> dict[int, bytes]:
    """The payload of the first segment of each ``wanted`` marker in a JPEG file's header
    (before its image data), e.g. a SOF for the size and channels; {} for a file that is not
    a JPEG. Reads only segment headers and the payloads asked for, not the whole file."""
    found: dict[int, bytes] = {}
    with open(path, "rb") as handle:
        if handle.read(2) != b"\xff\xd8":
            return found
        while handle.read(1) == b"\xff":
            marker = handle.read(1)
            while marker == b"\xff":  # fill bytes before a marker
                marker = handle.read(1)
            if not marker or marker[0] in (0xD9, 0xDA):  # end of file, start of image data
                break
            if 0xD0 <= marker[0] <= 0xD7 or marker[0] == 0x01:  # markers without a length
                continue
            length = int.from_bytes(handle.read(2), "big") - 2
            if length < 0:
                break
            if marker[0] in wanted and marker[0] not in found:
                found[marker[0]] = handle.read(length)
            else:
                handle.seek(length, 1)
    return found


def jpeg_channels(path: Path) -> int | None:
    """How many channels OpenCV decodes a JPEG file to, from its header: 1 (gray) or 3 (color,
    CMYK included); None where the header cannot be read (the run then reports the file)."""
    try:
        frames = jpeg_segments(path, SOF_MARKERS)
    except OSError:
        return None
    for payload in frames.values():
        if len(payload) >= 6:
            return 1 if payload[5] == 1 else 3
    return None


def decode_flags(data: np.ndarray) -> int:
    """How to decode a file's bytes: as stored (IMREAD_UNCHANGED keeps alpha and 16 bits, and
    ignores EXIF orientation), except JPEGs, which have no alpha to keep: ANYCOLOR | ANYDEPTH
    keeps gray gray and the bit depth, and OpenCV applies the orientation tag."""
    if data[:3].tobytes() == b"\xff\xd8\xff":
        return cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH
    return cv2.IMREAD_UNCHANGED


def read_image(path: Path) -> np.ndarray:
    """The file's pixels as stored: gray, BGR or BGRA, uint8 or uint16, JPEGs turned upright.

    A JPEG's EXIF orientation tag (a phone's portrait photo is stored sideways with a tag
    saying so) is applied, so the output, which carries no tag, shows the way the photo
    did; upstream (IMREAD_UNCHANGED) ignores it and writes such photos sideways. Other
    formats are read as stored, tag or not. Read with ``np.fromfile`` + ``cv2.imdecode`` (not
    ``cv2.imread``) so paths with non-ASCII characters work on every OS. ``.npy`` files (this
    project's numpy output) load too.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            try:
                image = np.load(path, allow_pickle=False)
            except ValueError as error:
                raise ImageError(f"cannot read {path}: not a plain numpy array ({error})") from None
        else:
            data = np.fromfile(path, dtype=np.uint8)
            image = cv2.imdecode(data, decode_flags(data)) if data.size else None
            if image is None:
                raise ImageError(f"cannot read {path}: not an image OpenCV can decode")
    except OSError as error:
        raise ImageError(f"cannot read {path}: {error.strerror or error}") from None
    except cv2.error:
        raise ImageError(f"cannot read {path}: not an image OpenCV can decode") from None
    return checked(image, path)


def output_path(
    source: Path,
    out_dir: Path,
    fmt: str = contract.OUTPUT_FORMAT,
    suffix: str = contract.OUTPUT_SUFFIX,
) -> Path:
    """Where the result for ``source`` goes: china.jpg -> out_dir/china_out.png."""
    if fmt not in FORMATS:
        raise ImageError(f"unknown output format {fmt!r}: use one of {', '.join(FORMATS)}")
    return Path(out_dir) / f"{Path(source).stem}{suffix}.{fmt}"


def check_writable(
    channels: int, dtype: np.dtype | type, fmt: str = contract.OUTPUT_FORMAT
) -> None:
    """Raise ImageError if ``fmt`` cannot hold an image of ``channels`` channels and ``dtype``
    pixels without losing something. Call it before doing any work."""
    if fmt not in FORMATS:
        raise ImageError(f"unknown output format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "npy":
        return
    dtype = np.dtype(dtype)
    if dtype not in PIXEL_DTYPES:
        raise ImageError(f"{fmt} holds 8- or 16-bit pixels, not {dtype}: write npy instead")
    if dtype == np.uint16 and fmt in EIGHT_BIT_FORMATS:
        raise ImageError(
            f"{fmt} holds 8-bit pixels only: write png or npy to keep 16 bits, or ask for 8 bits"
        )
    if channels == 4 and fmt not in ALPHA_FORMATS:
        raise ImageError(
            f"{fmt} has no alpha channel: write {', '.join(ALPHA_FORMATS)} to keep the alpha"
        )
    if channels == 1 and fmt not in GRAY_FORMATS:
        raise ImageError(
            f"{fmt} has no gray mode (OpenCV would write 3 channels): write png to keep the "
            "image gray, or ask for color (--grayscale color)"
        )
    if channels not in (1, 3, 4):
        raise ImageError(f"{fmt} holds 1, 3 or 4 channels, not {channels}: write npy instead")


def encode(image: np.ndarray, fmt: str, jpeg_quality: int) -> bytes:
    """The bytes of ``image`` in ``fmt``. webp is lossless (OpenCV's default), except that
    libwebp stores fully transparent pixels as transparent black."""
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, image, allow_pickle=False)
        return buffer.getvalue()
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if fmt == "jpg" else []
    try:
        ok, data = cv2.imencode(f".{fmt}", image, params)
    except cv2.error as error:
        raise ImageError(f"OpenCV cannot encode this image as {fmt}: {error.err}") from None
    if not ok:
        raise ImageError(f"OpenCV cannot encode this image as {fmt}")
    return data.tobytes()


def write_image(
    path: Path,
    image: np.ndarray,
    fmt: str = contract.OUTPUT_FORMAT,
    jpeg_quality: int = contract.JPEG_QUALITY,
) -> None:
    """Write ``image`` (gray, BGR or BGRA; uint8 or uint16) to ``path`` as ``fmt``, creating
    the folder; never a partial file, even if interrupted."""
    path = Path(path)
    check_writable(channels_of(image), image.dtype, fmt)
    data = encode(np.ascontiguousarray(image), fmt, jpeg_quality)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as error:
        raise ImageError(f"cannot write {path}: {error.strerror or error}") from None


def target_dtype(bit_depth: Literal["same", "8", "16"], source_dtype: np.dtype | type) -> np.dtype:
    """The output dtype: the input's for "same" (by dtype, never by pixel values), else
    uint8 or uint16."""
    if bit_depth == "same":
        return np.dtype(source_dtype)
    if bit_depth == "8":
        return np.dtype(np.uint8)
    if bit_depth == "16":
        return np.dtype(np.uint16)
    raise ImageError(f"bit depth must be 'same', '8' or '16', not {bit_depth!r}")


def convert_depth(
    image: np.ndarray,
    bit_depth: Literal["same", "8", "16"],
    source_dtype: np.dtype | type,
) -> np.ndarray:
    """``image`` in the bit depth asked for, rounding (not truncating).

    Integer images convert exactly where possible: 8 -> 16 is ``x * 257`` (255 -> 65535),
    16 -> 8 is ``round(x / 257)``. Float images are taken as [0, 1] (the network's range),
    clipped, scaled to the target's maximum and rounded.
    """
    target = target_dtype(bit_depth, source_dtype)
    if target not in PIXEL_DTYPES:
        raise ImageError(f"cannot convert to {target}: only 8- and 16-bit output")
    if image.dtype == target:
        return image
    if np.issubdtype(image.dtype, np.floating):
        top = np.iinfo(target).max
        scaled = np.clip(np.nan_to_num(image, nan=0.0), 0.0, 1.0) * top
        return np.rint(scaled).astype(target)
    if image.dtype == np.uint8 and target == np.uint16:
        return image.astype(np.uint16) * np.uint16(257)
    if image.dtype == np.uint16 and target == np.uint8:
        # round(x / 257) in integers: 257 is odd, so x / 257 never ends in exactly .5
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise ImageError(f"cannot convert {image.dtype} pixels to {target}")
