"""The image project's data.py and augment.py, rendered for one spec each: only the spec's source,
helpers and augmentations are there, and the code every spec shares (value ranges, the held-out
split, the resumable sampler, the loader) plus the real loading paths users point at their own
files (folder, torchvision) are checked here once, on small local files, instead of in every
rendered project. Each rendered project keeps only its own data contract (shape, range, labels).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import torch
import yaml
from PIL import Image
from torch.utils.data import Dataset, TensorDataset

from ganspec.render.image_data import LOADERS
from ganspec.render.pipeline import render_files
from ganspec.spec.image import SOURCE_SIZES
from tests.conftest import validate_mutation
from tests.project_imports import project_imports

PICTURES = ("folder", "torchvision")  # sources read from the user's files
DIGITS = 1_797


Render = Callable[..., Path]


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """``render(preset, **changes)``: the preset with dotted-path changes rendered into a folder
    of its own (once per module), through ruff like every render; the project's folder."""
    done: dict[str, Path] = {}

    def render_variant(preset: str, **changes: Any) -> Path:
        key = repr((preset, sorted(changes.items())))
        if key not in done:
            report = validate_mutation(
                preset, {k.replace("__", "."): v for k, v in changes.items()}
            )
            errors = [d.code for d in report.diagnostics if d.severity == "error"]
            assert report.exit_code == 0, errors
            folder = tmp_path_factory.mktemp(preset)
            for path, text in render_files(report, set(), folder).items():
                if "/" not in path:  # the modules and config.yaml; not tests/ or agent files
                    (folder / path).write_text(text, encoding="utf-8")
            done[key] = folder
        return done[key]

    return render_variant


@pytest.fixture
def project() -> Iterator[Callable[[Path], dict[str, ModuleType]]]:
    """``project(folder)``: that rendered project's modules, importable for this test only."""
    with_imports: list[Any] = []

    def open_project(folder: Path) -> dict[str, ModuleType]:
        context = project_imports(folder)
        with_imports.append(context)
        return context.__enter__()

    yield open_project
    for context in reversed(with_imports):
        context.__exit__(None, None, None)


def config(folder: Path, **changes: Any) -> dict[str, Any]:
    """The project's config.yaml as the code reads it, with top-level sections changed."""
    cfg = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = cfg
        for part in parents:
            node = node[part]
        node[last] = value
    return cfg


def top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            for target in node.targets:
                if isinstance(target, ast.Tuple):
                    names.update(t.id for t in target.elts if isinstance(t, ast.Name))
    return names


def within(x: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> bool:
    """Every value inside the range (the presets' [-1, 1] unless given)."""
    lo, hi = value_range
    return bool((x >= lo).all() and (x <= hi).all())


def every_item(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
    return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])


# --- only the spec's own code ----------------------------------------------------------------

VARIANTS = {
    "dcgan-64 (sample_images, hflip)": ("dcgan-64", {}),
    "cgan-digits-32 (digits, labels)": ("cgan-digits-32", {}),
    "dcgan-digits-32 (digits)": ("dcgan-digits-32", {}),
    "mlp-ring8": ("mlp-ring8", {}),
    "mlp-grid25": ("mlp-grid25", {}),
    "folder": ("dcgan-64", {"data__source": {"type": "folder", "path": "images"}}),
    "folder, labels": ("cgan-digits-32", {"data__source": {"type": "folder", "path": "images"}}),
    "torchvision": ("sngan-hinge-32", {"data__source": {"type": "torchvision", "name": "X"}}),
    "synthetic points": ("mlp-ring8", {"data__source": {"type": "synthetic"}}),
    "DiffAugment": ("dcgan-64", {"data__augment": ["cutout", "hflip", "color"]}),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_data_py_holds_only_the_specs_source_and_the_helpers_it_needs(
    variant: str, render: Render
) -> None:
    """One loader, its own helpers (PIL only for pictures, the mixture only for ring8/grid25,
    labels only when conditional), hflip only with ``augment: [hflip]``, augment.py only with a
    DiffAugment policy and only its transforms, and train.py importing only what exists."""
    preset, changes = VARIANTS[variant]
    folder = render(preset, **changes)
    spec = validate_mutation(preset, {k.replace("__", "."): v for k, v in changes.items()}).spec
    assert spec is not None
    source, augment = spec.data.source.type, spec.data.augment
    names = top_level_names(folder / "data.py")
    text = (folder / "data.py").read_text(encoding="utf-8")
    train = (folder / "train.py").read_text(encoding="utf-8")

    assert set(LOADERS.values()) & names == {LOADERS[source]}
    assert ("mixture_modes" in names) == (source in ("ring8", "grid25"))
    assert ("digit_arrays" in names) == (source == "digits")
    assert ("from PIL import Image" in text) == (source in ("sample_images", *PICTURES))
    assert ("PictureDataset" in names) == (source in PICTURES)
    labelled_by_code = source in ("folder", "synthetic")  # digits and torchvision carry labels
    assert ("CLASSES" in names) == (spec.data.classes is not None and labelled_by_code)
    assert ("RandomHFlip" in names) == ("hflip" in augment)
    assert ("RandomHFlip(dataset)" in train) == ("hflip" in augment)
    assert {"split_indices", "build_dataset", "build_loader"} <= names
    assert ("from_range" in names) == spec.data.shape.is_image  # pictures show images only
    assert "ResumableSampler" in names
    assert ".get(" not in text, "data.py trusts config.yaml: no fallback defaults"

    policy = [name for name in augment if name != "hflip"]
    assert (folder / "augment.py").exists() == bool(policy)
    assert ("from augment import diff_augment" in train) == bool(policy)
    if policy:
        transforms = {name for name in top_level_names(folder / "augment.py") if "rand_" in name}
        assert transforms == {"rand_cutout", "rand_brightness", "rand_saturation", "rand_contrast"}


# --- value ranges ----------------------------------------------------------------------------


@pytest.mark.parametrize("value_range", [[-1.0, 1.0], [0.0, 255.0], [-0.5, 0.5], [0.0, 1.0]])
def test_values_map_to_the_range_and_back(
    value_range: list[float], render: Render, project: Any
) -> None:
    data = project(render("cgan-digits-32"))["data"]
    x = torch.rand(64, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    mapped = data.to_range(x, value_range)
    lo, hi = value_range
    assert torch.allclose(
        data.to_range(torch.tensor([0.0, 1.0]), value_range), torch.tensor([lo, hi])
    )
    assert float(mapped.min()) >= lo and float(mapped.max()) <= hi
    assert torch.allclose(data.from_range(mapped, value_range), x, atol=1e-6)


def test_from_range_clamps_what_a_picture_can_show(render: Render, project: Any) -> None:
    data = project(render("dcgan-64"))["data"]
    outside = torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0])
    assert data.from_range(outside, [-1.0, 1.0]).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert data.from_range(outside, [0.0, 2.0]).tolist() == [0.0, 0.0, 0.0, 0.5, 1.0]


# --- the held-out split ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "fraction", "held"),
    [
        (1000, 0.2, 200),
        (DIGITS, 0.1, 180),  # 179.7 rounds to 180
        (10, 0.0001, 1),  # any fraction above 0 holds out at least one sample
        (10, 0.0, 0),
        (2, 0.5, 1),
        (1, 0.5, 0),  # and leaves at least one to train on
    ],
)
def test_holdout_split_is_seeded_disjoint_complete_and_rounded(
    size: int, fraction: float, held: int, render: Render, project: Any
) -> None:
    split = project(render("cgan-digits-32"))["data"].split_indices
    cfg = {"seed": 3, "validation": {"holdout": fraction}}
    train, holdout = split(size, cfg)
    assert len(holdout) == held and not set(train) & set(holdout)
    assert sorted(train + holdout) == list(range(size))
    assert split(size, cfg) == (train, holdout)
    if 0 < held < size - 1:
        assert split(size, {**cfg, "seed": 4})[1] != holdout


def test_holdout_is_read_from_config_yaml_which_states_the_schemas_default(
    render: Render, project: Any
) -> None:
    """mlp-ring8 leaves validation.holdout out: config.yaml says 0.1 (the schema's default) and
    the code uses exactly that; without the key the code fails instead of assuming 0."""
    folder = render("mlp-ring8")
    cfg = config(folder)
    assert cfg["validation"]["holdout"] == 0.1
    data = project(folder)["data"]
    assert len(data.build_dataset(cfg, "holdout")) == round(0.1 * SOURCE_SIZES["ring8"])
    with pytest.raises(KeyError, match="holdout"):
        data.split_indices(100, {"seed": 0, "validation": {}})


def test_training_never_sees_the_held_out_samples(render: Render, project: Any) -> None:
    folder = render("cgan-digits-32")
    data = project(folder)["data"]
    cfg = config(folder, validation__holdout=0.25)
    train, holdout = data.build_dataset(cfg, "train"), data.build_dataset(cfg, "holdout")
    assert not set(train.indices) & set(holdout.indices)
    assert len(train) + len(holdout) == DIGITS and len(holdout) == round(0.25 * DIGITS)
    with pytest.raises(KeyError, match="test"):
        data.build_dataset(cfg, "test")


# --- built-in sources ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "source"),
    [
        ("cgan-digits-32", "digits"),
        ("mlp-ring8", "ring8"),
        ("mlp-grid25", "grid25"),
        ("mlp-ring8", "synthetic"),
    ],
)
def test_source_sizes_are_what_the_rendered_sources_make(
    preset: str, source: str, render: Render, project: Any
) -> None:
    """SOURCE_SIZES (GS408's training-set sizes) must be the samples each source makes."""
    own = validate_mutation(preset, {}).spec
    assert own is not None
    changes = {} if own.data.source.type == source else {"data__source": {"type": source}}
    folder = render(preset, **changes)
    data = project(folder)["data"]
    whole = data.build_dataset(config(folder, validation__holdout=0.0))
    assert len(whole) == SOURCE_SIZES[source]


def test_sample_images_are_seeded_crops_in_the_range(
    render: Render, project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SOURCE_SIZES counts SAMPLE_IMAGE_CROPS; a few crops are cut here (all 4,096 take seconds)."""
    folder = render("sngan-hinge-32")
    data = project(folder)["data"]
    assert SOURCE_SIZES["sample_images"] == data.SAMPLE_IMAGE_CROPS
    monkeypatch.setattr(data, "SAMPLE_IMAGE_CROPS", 6)
    data.sample_image_crops.cache_clear()
    crops = data.sample_image_crops(0)
    assert crops.shape == (6, 3, 32, 32) and crops.dtype == torch.uint8
    data.sample_image_crops.cache_clear()
    assert torch.equal(data.sample_image_crops(0), crops)
    assert not torch.equal(data.sample_image_crops(1), crops)
    x, labels = every_item(data.sample_images(config(folder)))
    assert x.dtype == torch.float32 and -1 <= float(x.min()) < float(x.max()) <= 1
    assert labels.tolist() == [0] * 6
    data.sample_image_crops.cache_clear()


def test_sample_image_crops_are_cut_once_and_read_back_by_later_processes(
    render: Render, project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cutting the crops takes seconds, in every process that trains (each torchrun rank, each
    run): they are kept in the project's .cache/ under a key of what they depend on (data.py,
    their number, the seed), and a later process reads them back instead of cutting again."""
    folder = render("sngan-hinge-32")
    data = project(folder)["data"]
    monkeypatch.setattr(data, "SAMPLE_IMAGE_CROPS", 6)
    data.sample_image_crops.cache_clear()
    crops = data.sample_image_crops(0)
    assert data.crops_path(0).parent == folder / ".cache" and data.crops_path(0).is_file()

    data.sample_image_crops.cache_clear()  # as in a new process
    monkeypatch.setattr(data, "cut_sample_image_crops", lambda seed: pytest.fail("cut again"))
    assert torch.equal(data.sample_image_crops(0), crops)
    paths = {data.crops_path(0), data.crops_path(1)}
    monkeypatch.setattr(data, "SAMPLE_IMAGE_CROPS", 7)
    paths.add(data.crops_path(0))
    assert len(paths) == 3  # another seed or another number of crops is another file
    data.sample_image_crops.cache_clear()


@pytest.mark.parametrize(
    ("preset", "means", "std"),
    [
        ("mlp-ring8", [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], 0.01),
        ("mlp-grid25", [[-4.0, -4.0], [0.0, 2.0], [4.0, 4.0]], 0.05),
    ],
)
def test_mixture_points_lie_on_the_specs_modes(
    preset: str, means: list[list[float]], std: float, render: Render, project: Any
) -> None:
    folder = render(preset)
    data = project(folder)["data"]
    modes, mode_std = data.mixture_modes()
    assert mode_std == std and len(modes) == (8 if preset == "mlp-ring8" else 25)
    for mean in means:
        assert float(torch.cdist(torch.tensor([mean]), modes).min()) < 1e-6
    points = data.mixture_points(config(folder))
    x, labels = points.tensors
    nearest = torch.cdist(x, modes).min(dim=1)
    assert float(nearest.values.max()) < 6 * std  # every point near a mode (6 sigma)
    assert nearest.indices.unique().numel() == len(modes)
    assert not labels.any()
    assert torch.equal(data.mixture_points(config(folder)).tensors[0], x)


@pytest.mark.parametrize(
    ("preset", "conditional"), [("cgan-digits-32", True), ("dcgan-digits-32", False)]
)
def test_digits_carry_their_classes_only_for_a_conditional_gan(
    preset: str, conditional: bool, render: Render, project: Any
) -> None:
    folder = render(preset)
    data = project(folder)["data"]
    images, classes = data.digit_arrays()
    assert (
        images.shape == (DIGITS, 1, 32, 32) and 0 <= float(images.min()) < float(images.max()) <= 1
    )
    assert sorted(classes.unique().tolist()) == list(range(10))  # evaluate.py's classifier
    x, labels = data.digits(config(folder)).tensors
    assert -1 <= float(x.min()) < float(x.max()) <= 1
    assert torch.equal(labels, classes) if conditional else not labels.any()


@pytest.mark.parametrize(
    ("preset", "changes"),
    [
        ("mlp-ring8", {"data__source": {"type": "synthetic"}}),  # points with no range
        ("cgan-digits-32", {"data__source": {"type": "synthetic"}}),  # images, 10 classes
    ],
)
def test_synthetic_samples_are_seeded_and_shaped_like_the_data(
    preset: str, changes: dict[str, Any], render: Render, project: Any
) -> None:
    folder = render(preset, **changes)
    data = project(folder)["data"]
    x, labels = data.synthetic(config(folder)).tensors
    assert torch.equal(data.synthetic(config(folder)).tensors[0], x)
    if preset == "mlp-ring8":
        assert x.shape == (SOURCE_SIZES["synthetic"], 2)
        assert abs(float(x.mean())) < 0.1 and 0.9 < float(x.std()) < 1.1  # standard normal
        assert not labels.any()
    else:
        assert x.shape == (SOURCE_SIZES["synthetic"], 1, 32, 32)
        assert within(x)
        assert sorted(labels.unique().tolist()) == list(range(10))


# --- pictures from the user's files: folder and torchvision ----------------------------------


def picture(path: Path, mode: str = "RGB", size: tuple[int, int] = (12, 8)) -> Path:
    """A small picture file whose left third is red, middle green, right third blue."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size)
    third = size[0] // 3
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        image.paste(colour, (i * third, 0, (i + 1) * third, size[1]))
    image.convert(mode).save(path)
    return path


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    """Two class folders (one nested deeper), a picture at the top and a file that is not one."""
    root = tmp_path / "pictures"
    picture(root / "cats" / "a.png")
    picture(root / "cats" / "b.jpg")
    picture(root / "dogs" / "c.png", mode="L", size=(9, 9))
    picture(root / "dogs" / "puppies" / "d.png", mode="RGBA", size=(30, 10))
    picture(root / "top.png")
    (root / "notes.txt").write_text("not a picture", encoding="utf-8")
    return root


def test_folder_reads_every_picture_fitted_to_the_shape(
    pictures: Path, render: Render, project: Any
) -> None:
    """Any mode, size and depth becomes a 3 x 64 x 64 tensor in the range: scaled so the short
    side fits, centre-cropped (a wide picture keeps its middle), label 0 when unconditional."""
    folder = render("dcgan-64", data__source={"type": "folder", "path": "images"})
    data = project(folder)["data"]
    cfg = config(folder)
    cfg["data"]["source"]["path"] = str(pictures)
    x, labels = every_item(data.folder(cfg))
    assert x.shape == (5, 3, 64, 64) and not labels.any()
    assert within(x)
    middle = data.from_range(x[3], cfg["data"]["range"]).mean(dim=(1, 2))  # puppies/d.png, 3:1
    assert middle[1] > 0.9 and middle[0] < 0.1 and middle[2] < 0.1  # the green third


def test_folder_labels_come_from_sorted_class_folders(
    pictures: Path, render: Render, project: Any
) -> None:
    folder = render("cgan-digits-32", data__source={"type": "folder", "path": "images"})
    data = project(folder)["data"]
    cfg = config(folder)
    cfg["data"]["source"]["path"] = str(pictures)
    dataset = data.folder(cfg)
    x, labels = every_item(dataset)
    assert x.shape == (4, 1, 32, 32)  # top.png belongs to no class
    assert labels.tolist() == [0, 0, 1, 1]  # cats/a, cats/b, dogs/c, dogs/puppies/d
    for name in range(10):
        (pictures / f"class{name}").mkdir()
    with pytest.raises(ValueError, match=r"12 class folders but data\.classes is 10"):
        data.folder(cfg)


def test_folder_paths_are_relative_to_the_project_and_problems_are_named(
    tmp_path: Path, render: Render, project: Any
) -> None:
    folder = render("dcgan-64", data__source={"type": "folder", "path": "images"})
    data = project(folder)["data"]
    cfg = config(folder)
    missing = f"data folder {re.escape(str(folder / 'images'))} does not exist"
    with pytest.raises(RuntimeError, match=missing):
        data.folder(cfg)
    (folder / "images").mkdir()
    with pytest.raises(RuntimeError, match="no images"):
        data.folder(cfg)
    picture(folder / "images" / "one.png")
    try:
        assert len(data.folder(cfg)) == 1
    finally:
        (folder / "images" / "one.png").unlink()
        (folder / "images").rmdir()


class LocalPictures:
    """Stands in for a torchvision dataset: (PIL picture, class) pairs from local files."""

    def __init__(self, root: str, download: bool = True) -> None:
        if download:
            raise AssertionError("the project must never download")
        files = sorted(Path(root).rglob("*.png"))
        if not files:
            raise RuntimeError("Dataset not found or corrupted.")
        self.items = [(Image.open(path), i % 3) for i, path in enumerate(files)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        return self.items[index]


class NoDownloadArgument(LocalPictures):
    """Like LSUN or ImageFolder: no ``download`` argument at all."""

    def __init__(self, root: str) -> None:
        super().__init__(root, download=False)


@pytest.fixture
def torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = SimpleNamespace(LocalPictures=LocalPictures, NoDownloadArgument=NoDownloadArgument)
    monkeypatch.setitem(sys.modules, "torchvision", SimpleNamespace(datasets=datasets))


@pytest.mark.parametrize(
    ("preset", "shape"), [("sngan-hinge-32", (3, 32, 32)), ("cgan-digits-32", (1, 32, 32))]
)
@pytest.mark.parametrize("name", ["LocalPictures", "NoDownloadArgument"])
def test_torchvision_datasets_load_from_local_files_only(
    preset: str,
    shape: tuple[int, ...],
    name: str,
    pictures: Path,
    torchvision: None,
    render: Render,
    project: Any,
) -> None:
    folder = render(preset, data__source={"type": "torchvision", "name": "X"})
    data = project(folder)["data"]
    cfg = config(folder)
    cfg["data"]["source"].update(name=name, root=str(pictures))
    x, labels = every_item(data.torchvision_dataset(cfg))
    assert x.shape == (4, *shape) and within(x)
    conditional = cfg["data"]["classes"] is not None
    assert labels.tolist() == ([0, 1, 2, 0] if conditional else [0, 0, 0, 0])


def test_torchvision_problems_say_what_to_do(
    tmp_path: Path, torchvision: None, render: Render, project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = render("sngan-hinge-32", data__source={"type": "torchvision", "name": "X"})
    data = project(folder)["data"]
    cfg = config(folder)
    cfg["data"]["source"].update(name="LocalPictures", root=str(tmp_path))
    with pytest.raises(RuntimeError, match="never downloads: fetch it once elsewhere"):
        data.torchvision_dataset(cfg)
    cfg["data"]["source"]["name"] = "CIFAR11"
    with pytest.raises(RuntimeError, match="no dataset called 'CIFAR11'"):
        data.torchvision_dataset(cfg)
    monkeypatch.setitem(sys.modules, "torchvision", None)  # not installed
    with pytest.raises(RuntimeError, match="pip install torchvision"):
        data.torchvision_dataset(cfg)


# --- augmentation ----------------------------------------------------------------------------


def test_hflip_flips_about_half_the_images_the_same_way_after_a_reseed(
    render: Render, project: Any
) -> None:
    """The coin is torch's global RNG, which checkpoints save: a resumed run flips alike."""
    data = project(render("dcgan-64"))["data"]
    images = torch.rand(400, 3, 4, 6, generator=torch.Generator().manual_seed(0))
    flipping = data.RandomHFlip(TensorDataset(images, torch.zeros(400, dtype=torch.long)))
    torch.manual_seed(7)
    seen, _ = every_item(flipping)
    flipped = [not torch.equal(s, x) for s, x in zip(seen, images, strict=True)]
    assert all(
        torch.equal(s, x.flip(-1)) for s, x, f in zip(seen, images, flipped, strict=True) if f
    )
    assert 150 < sum(flipped) < 250
    torch.manual_seed(7)
    assert torch.equal(every_item(flipping)[0], seen)


def test_diff_augment_applies_the_policy_in_data_augment_order(
    render: Render, project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    augment = project(render("dcgan-64", data__augment=["cutout", "hflip", "color"]))["augment"]
    calls: list[str] = []
    for name in ("rand_cutout", "rand_brightness", "rand_saturation", "rand_contrast"):
        transform = getattr(augment, name)
        monkeypatch.setattr(
            augment, name, lambda x, name=name, f=transform: calls.append(name) or f(x)
        )
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    out = augment.diff_augment(x)
    assert calls == ["rand_cutout", "rand_brightness", "rand_saturation", "rand_contrast"]
    assert out.shape == x.shape and not torch.equal(out, x)
    out.sum().backward()  # differentiable: G learns through it
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_translation_shifts_and_cutout_zeroes_one_square(render: Render, project: Any) -> None:
    augment = project(render("dcgan-64", data__augment=["translation", "cutout"]))["augment"]
    ones = torch.ones(64, 1, 16, 16)
    torch.manual_seed(0)
    shifted = augment.rand_translation(ones)  # shifts of up to 2 pixels, zeros come in
    zero_rows = (shifted == 0).all(dim=3).sum(dim=(1, 2))
    zero_cols = (shifted == 0).all(dim=2).sum(dim=(1, 2))
    assert int(zero_rows.max()) == 2 and int(zero_cols.max()) == 2
    assert set(shifted.unique().tolist()) == {0.0, 1.0}
    cut = augment.rand_cutout(ones)  # an 8 x 8 square, clipped at the border
    zeros = (cut == 0).sum(dim=(1, 2, 3))
    assert int(zeros.max()) == 64 and int(zeros.min()) > 0


# --- batches ---------------------------------------------------------------------------------


def test_resumable_sampler_starts_mid_epoch_on_the_same_order(render: Render, project: Any) -> None:
    data = project(render("mlp-ring8"))["data"]
    dataset = TensorDataset(torch.arange(20))

    def order(epoch: int, start: int = 0, rank: int = 0, replicas: int = 1) -> list[int]:
        sampler = data.ResumableSampler(
            dataset, num_replicas=replicas, rank=rank, shuffle=True, seed=5, drop_last=True
        )
        sampler.set_epoch(epoch, start)
        assert len(sampler) == len(list(sampler))
        return list(sampler)

    full = order(3)
    assert sorted(full) == list(range(20)) and full == order(3)
    assert order(3, start=7) == full[7:]
    assert order(4) != full
    ranks = order(3, rank=0, replicas=2) + order(3, rank=1, replicas=2)
    assert sorted(ranks) == list(range(20))


def test_loader_splits_whole_packs_across_processes_and_leaves_the_global_rng(
    render: Render, project: Any
) -> None:
    data = project(render("mlp-ring8"))["data"]
    dataset = TensorDataset(torch.arange(50), torch.zeros(50, dtype=torch.long))
    cfg = {"seed": 0, "data": {"batch_size": 8}, "discriminator": {"pack": 2}}
    state = torch.get_rng_state()
    batches = [x for x, _ in data.build_loader(cfg, dataset)]
    assert torch.equal(torch.get_rng_state(), state)
    assert [len(b) for b in batches] == [8] * 6  # 50 // 8, the rest dropped
    assert [len(x) for x, _ in data.build_loader(cfg, dataset, rank=1, world_size=2)] == [4] * 6
    with pytest.raises(ValueError, match="whole packs of 2"):
        data.build_loader(cfg, dataset, world_size=8)
