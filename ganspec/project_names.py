"""Whether a spec ``name`` is safe as the rendered project's distribution name.

The rendered ``pyproject.toml`` names the distribution after the spec (``faces_dcgan`` ->
``faces-dcgan``), and ``pip install -e .`` replaces any installed distribution with the same
normalised name: ``name: click`` uninstalls click. So a name must be a valid project name
(PEP 508) and must not be a distribution people have installed, or a module name that
would read as one (the standard library, the rendered project's own modules).
"""

from __future__ import annotations

import functools
import keyword
import re
import sys
from pathlib import Path

from ganspec.resources import shipped

# PEP 508's project name, after the render turns underscores into hyphens.
_PROJECT_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?", re.IGNORECASE)
_REQUIREMENT = re.compile(r'"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^]]*\])?\s*[<>=!~]')
MAX_NAME = 64  # the spec's identifier limit
# In the description of every rendered pyproject.toml: a re-rendered, re-installed project
# is no collision with itself.
RENDERED_MARK = "rendered by ganspec"


def normalise(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` are one hyphen, case does not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


# Distributions (and the import names people confuse with them) a GAN project's environment
# typically holds, beyond what the running interpreter has installed: packaging tools,
# ganspec and its dependencies, the scientific and deep-learning stack.
_WELL_KNOWN = """
    pip setuptools wheel build twine virtualenv uv poetry hatchling flit pdm packaging
    ganspec click pydantic pydantic-core jinja2 markupsafe pyyaml yaml ruff
    torch torchvision torchaudio triton sympy mpmath networkx filelock fsspec
    typing-extensions typing-inspection annotated-types
    numpy scipy pandas matplotlib pillow pil scikit-learn sklearn scikit-image skimage
    joblib threadpoolctl tqdm imageio h5py opencv-python opencv-python-headless
    opencv-contrib-python opencv cv2 tensorboard wandb mlflow
    pytest hypothesis pluggy iniconfig coverage mypy black flake8 tox nox
    requests urllib3 certifi idna charset-normalizer six attrs rich
    jax jaxlib flax tensorflow keras lightning pytorch-lightning accelerate transformers
    diffusers datasets huggingface-hub safetensors timm einops onnx onnxruntime
    sdv opacus ctgan torch-fidelity clean-fid ipython jupyter notebook
"""
WELL_KNOWN = frozenset(normalise(name) for name in _WELL_KNOWN.split())


def rendered_name(name: str) -> str:
    """The distribution name the rendered pyproject.toml gives the spec's name."""
    return name.replace("_", "-")


def is_project_name(name: str) -> bool:
    return _PROJECT_NAME.fullmatch(rendered_name(name)) is not None


@functools.cache
def installed_distributions() -> dict[str, Path]:
    """Normalised name -> metadata folder of every distribution this interpreter can import.

    Read from the ``*.dist-info`` / ``*.egg-info`` folder names on sys.path, as
    importlib.metadata finds them, without opening a metadata file: validate stays fast.
    """
    found: dict[str, Path] = {}
    for entry in sys.path:
        folder = Path(entry or ".")
        try:
            paths = list(folder.iterdir())
        except OSError:
            continue
        for path in paths:
            stem, dot, suffix = path.name.rpartition(".")
            if dot and suffix in ("dist-info", "egg-info"):
                found.setdefault(normalise(stem.split("-")[0]), path)
    return found


@functools.cache
def rendered_by_ganspec(metadata: Path) -> bool:
    """Whether an installed distribution is a project ganspec rendered (its pyproject.toml
    description says so): installing it again under its own name replaces nothing else."""
    for name in ("METADATA", "PKG-INFO"):
        try:
            text = (metadata / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        summary = next((line for line in text.splitlines() if line.startswith("Summary:")), "")
        return RENDERED_MARK in summary
    return False


@functools.cache
def project_modules(kind: str) -> frozenset[str]:
    """Module and folder names of the rendered project (config, data, train, tests, ...),
    read from its templates (the shared ones in templates/common included)."""
    root = shipped("templates")
    names: set[str] = set()
    for folder in (root / "common", root / kind / "project"):
        for path in folder.iterdir() if folder.is_dir() else ():
            name = path.name.removesuffix(".j2")
            if path.is_dir():
                names.add(name)
            elif name.endswith(".py"):
                names.add(name.removesuffix(".py"))
    return frozenset(names)


@functools.cache
def project_requirements(kind: str) -> frozenset[str]:
    """Distributions the rendered pyproject.toml depends on (torch, numpy, pytest, ...)."""
    template = shipped("templates") / kind / "project" / "pyproject.toml.j2"
    text = template.read_text(encoding="utf-8")
    return frozenset(normalise(name) for name in _REQUIREMENT.findall(text))


_STDLIB = frozenset(normalise(name) for name in sys.stdlib_module_names)


@functools.cache
def _normalised_modules(kind: str) -> frozenset[str]:
    return frozenset(normalise(name) for name in project_modules(kind))


def collision(name: str, kind: str) -> str | None:
    """What ``name`` would collide with, in words; None when it is free."""
    key = normalise(name)
    if key in _normalised_modules(kind):
        return "a module of the rendered project"
    if key in project_requirements(kind):
        return "a dependency of the rendered project"
    if key in WELL_KNOWN:
        return "a well-known Python distribution"
    installed = installed_distributions().get(key)
    if installed is not None and not rendered_by_ganspec(installed):
        return "a distribution installed in this Python environment"
    if key in _STDLIB:
        return "a standard-library module"
    return None


def problem(name: str, kind: str) -> str | None:
    """Why ``name`` cannot be the rendered project's name, or None."""
    if not is_project_name(name):
        return f"renders the project name {rendered_name(name)!r}, which PEP 508 rejects"
    return collision(name, kind)


def suggest(name: str, kind: str) -> str:
    """A close name that has no problem: without edge underscores, then with ``_gan``."""
    base = name.strip("_") or "my"
    if base[0].isdigit():
        base = f"gan_{base}"
    for suffix in ["", "_gan", *(f"_gan{n}" for n in range(2, 100))]:
        candidate = base[: MAX_NAME - len(suffix)].rstrip("_") + suffix
        if not keyword.iskeyword(candidate) and problem(candidate, kind) is None:
            return candidate
    return "my_gan"  # pragma: no cover - 100 taken names in a row
