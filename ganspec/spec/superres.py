"""The super-resolution spec: which released Real-ESRGAN model upscales which images, how.

Nothing is trained: the spec names the model and its weights file, and owns the preprocessing
contract upstream leaves implicit (channel order, bit depth, alpha, grayscale, tiling). Defaults
are upstream's ``inference_realesrgan.py`` defaults where it has one (outscale = the model's
scale, tile_pad 10, pre_pad 0, suffix "_out"), else ganspec's stated choice.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt

from ganspec.spec.common import Flag, Identifier, RuleCode, StrictModel

FilePath = Annotated[str, Field(min_length=1, max_length=4096)]
Pixels = Annotated[StrictInt, Field(ge=0, le=16_384)]
ModelName = Literal[
    "RealESRGAN_x4plus",
    "RealESRGAN_x4plus_anime_6B",
    "RealESRGAN_x2plus",
    "realesr-general-x4v3",
]
ImageFormat = Literal["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"]


class SuperresModel(StrictModel):
    """The released network and the files holding its weights."""

    name: ModelName = Field(
        description="RealESRGAN_x4plus (photos), RealESRGAN_x4plus_anime_6B (cel-shaded art), "
        "realesr-general-x4v3 (small and fast), RealESRGAN_x2plus (photos, x2)."
    )
    weights: FilePath | None = Field(
        None,
        description="The released .pth file, relative to the spec file's folder; default "
        "weights/<name>.pth. validate checks its size and sha256 when it is there.",
    )
    denoise_strength: Annotated[float, Field(ge=0, le=1, strict=True)] | None = Field(
        None,
        description="realesr-general-x4v3 only: 1 is the model as released (strong denoise), 0 "
        "the weak-denoise twin realesr-general-wdn-x4v3; between, both weight sets are blended "
        "tensor by tensor (upstream's deep network interpolation).",
    )
    weak_denoise_weights: FilePath | None = Field(
        None,
        description="realesr-general-wdn-x4v3.pth, relative to the spec file's folder; default "
        "weights/realesr-general-wdn-x4v3.pth. Read only with a denoise_strength.",
    )

    @property
    def weights_path(self) -> str:
        return self.weights or f"weights/{self.name}.pth"

    @property
    def weak_denoise_path(self) -> str:
        return self.weak_denoise_weights or "weights/realesr-general-wdn-x4v3.pth"


class PathSource(StrictModel):
    """Your images: one file, or every image in a folder (not recursive)."""

    type: Literal["path"] = "path"
    path: FilePath = Field(description="A file or folder, relative to the spec file's folder.")


class SklearnPhotos(StrictModel):
    """scikit-learn's two bundled photos (china.jpg, flower.jpg, 427x640): offline."""

    type: Literal["sklearn_photos"]


class SuperresInput(StrictModel):
    """What the project receives, and the conventions of the arrays callers hand it."""

    source: PathSource | SklearnPhotos = Field(discriminator="type")
    formats: Annotated[list[ImageFormat], Field(min_length=1, max_length=7)] = Field(
        default_factory=lambda: ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"],
        description="File suffixes read from a folder.",
    )
    channel_order: Literal["bgr", "rgb"] = Field(
        "bgr",
        description="Channel order of the numpy arrays your code passes to upscale_array: bgr "
        "(OpenCV's cv2.imread, as upstream expects) or rgb (PIL, imageio). Files are read "
        "with OpenCV either way.",
    )
    bit_depth: Literal["8", "16", "any"] = Field(
        "any",
        description="The bit depths your images have: 8, 16, or any. The dtype decides, "
        "never the brightest pixel.",
    )
    alpha: Literal["model", "resize", "refuse"] = Field(
        "model",
        description="An alpha channel goes through the network as a gray image (model), is "
        "resized with linear interpolation (resize, faster), or fails the image (refuse).",
    )
    grayscale: Literal["keep", "color"] = Field(
        "keep",
        description="A one-channel image comes back one-channel (keep) or as 3 channels (color).",
    )


class Inference(StrictModel):
    """How each image goes through the network."""

    outscale: Annotated[float, Field(gt=0, le=16, strict=False)] | None = Field(
        None,
        description="Final enlargement of each side, any positive number (e.g. 3.5): the model's "
        "native scale, then a Lanczos resize. Default: the model's scale.",
    )
    tile: Pixels = Field(
        0,
        description="Input pixels per tile side; 0 runs the whole image at once. Tiles bound "
        "the memory a large image needs.",
    )
    tile_pad: Pixels = Field(
        10, description="Context pixels around each tile, run through the network, then cut off."
    )
    tile_overlap: Pixels = Field(
        16,
        description="Input pixels neighbouring tiles share, blended with linear weights so tiles "
        "leave no seams (upstream crops without blending).",
    )
    pre_pad: Pixels = Field(
        0, description="Reflect padding at the bottom and right before the network, cut after."
    )
    precision: Literal["fp32", "fp16", "bf16"] = Field(
        "fp32", description="fp16 runs on CUDA only; on a CPU fp32 is the fastest."
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="auto: CUDA, then Apple's MPS, then the CPU."
    )
    memory_budget_gb: Annotated[float, Field(gt=0, le=10_000, strict=False)] | None = Field(
        None,
        description="Memory one tile may use on the device; default: this machine's RAM for "
        "device cpu, 8 GB otherwise (set your GPU's).",
    )


class SuperresOutput(StrictModel):
    """What the project writes."""

    folder: FilePath = Field(
        "results",
        description="Output folder, relative to the rendered project's folder (a path on the "
        "command line: to the working directory).",
    )
    format: Literal["png", "jpg", "webp", "npy"] = Field(
        "png", description="npy keeps the exact array (dtype and channels) for your code."
    )
    suffix: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")] = Field(
        "_out", description="china.jpg -> china_out.png."
    )
    bit_depth: Literal["same", "8", "16"] = Field(
        "same", description="same: a 16-bit input gives a 16-bit output."
    )
    jpeg_quality: Annotated[StrictInt, Field(ge=1, le=100)] = 95
    skip_existing: Flag = Field(
        True, description="An output already there is left alone (a rerun resumes)."
    )


class SuperresSpec(StrictModel):
    """Super-resolution inference with a released Real-ESRGAN-family model."""

    ganspec: Literal[1] = Field(description="Spec format version.")
    name: Identifier = Field(description="Becomes the rendered package name.")
    kind: Literal["superres"]
    description: Annotated[str, Field(max_length=2000)] = ""
    ignore: list[RuleCode] = Field(
        default_factory=list, description="Rule codes to silence, e.g. [GS811]."
    )
    model: SuperresModel
    input: SuperresInput
    inference: Inference = Field(default_factory=Inference)
    output: SuperresOutput = Field(default_factory=SuperresOutput)
