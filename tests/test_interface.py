"""The interface PROMPT.md states is what the contract tests use, with the rendered signatures."""

from __future__ import annotations

import re

import pytest

from ganspec.interface import interface_of, replaced_names, used_names
from ganspec.render.pipeline import prompt_for, render_files
from ganspec.validate import validate_file
from tests.conftest import SPECS

FILES = {
    "models.py": '''
import torch

LATENT_DIM = 64


class Generator(torch.nn.Module):
    """Maps latents to samples.

    More."""


def sample_latent(n: int, device: str = "cpu") -> torch.Tensor:
    """n latent vectors."""
''',
    "checkpoints.py": '''
from dataclasses import dataclass


@dataclass
class Progress:
    """Where training stands."""

    epoch: int = 0
    step: int = 0
''',
    "train.py": """
import argparse

from checkpoints import Progress


def parse_args(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-steps", type=int, help="stop after N steps")
    parser.add_argument("--resume", action="store_true")
    return parser.parse_args(argv)


def unused() -> None:
    pass
""",
    "tests/test_a.py": """
import train
from models import LATENT_DIM, Generator, sample_latent


def test_x():
    train.parse_args([])
    train.Progress()
""",
}


def test_the_names_the_tests_take_from_project_modules() -> None:
    assert used_names(FILES) == {
        "models": {"LATENT_DIM", "Generator", "sample_latent"},
        "train": {"parse_args", "Progress"},
    }


def test_each_name_comes_with_its_rendered_signature_and_summary() -> None:
    modules = {m.name: m for m in interface_of(FILES)}
    models = {e.name: e for e in modules["models"].entries}
    assert (
        models["sample_latent"].signature
        == "sample_latent(n: int, device: str='cpu') -> torch.Tensor"
    )
    assert models["sample_latent"].summary == "n latent vectors."
    assert models["Generator"].signature == "class Generator(torch.nn.Module)"
    assert models["Generator"].summary == "Maps latents to samples."
    assert models["LATENT_DIM"].signature == "LATENT_DIM = 64"
    train = {e.name: e for e in modules["train"].entries}
    # imported from checkpoints.py: described where it is defined
    assert train["Progress"].signature == "class Progress(epoch: int = 0, step: int = 0)"
    assert "unused" not in train  # the tests never call it
    assert modules["train"].flags == ["--max-steps", "--resume"]


def test_names_a_test_swaps_on_their_module_are_marked_replaced() -> None:
    """A test that swaps ``train.generator_loss`` (or reassigns ``features.CACHE_DIR``) sees
    its swap only where the module looks the name up in its own globals: the reader must know."""
    files = {
        **FILES,
        "features.py": "CACHE_DIR = '.cache'\n",
        "tests/test_b.py": """
import features
import train


def test_y(monkeypatch):
    monkeypatch.setattr(train, "parse_args", lambda argv: None)
    features.CACHE_DIR = "elsewhere"
""",
    }
    assert replaced_names(files) == {"train": {"parse_args"}, "features": {"CACHE_DIR"}}
    modules = {m.name: {e.name: e for e in m.entries} for m in interface_of(files)}
    assert modules["train"]["parse_args"].replaced
    assert not modules["train"]["Progress"].replaced  # called, never swapped
    assert modules["features"]["CACHE_DIR"].replaced


def test_the_image_prompt_marks_what_its_contracts_swap() -> None:
    prompt = prompt_for(validate_file(SPECS / "dcgan-digits-32.yaml"))
    for name in ("discriminator_loss", "generator_loss", "build_gan", "discriminator_step"):
        assert re.search(rf"`{name}\([^`]*` \*\*replaced\*\*", prompt), name
    assert "`CACHE_DIR = CODE_DIR / '.cache'` **replaced**" in prompt


@pytest.mark.parametrize("preset", ["dcgan-digits-32", "ctgan-customers", "realesr-general-x4v3"])
def test_every_name_the_contracts_use_is_stated_with_its_signature(preset: str) -> None:
    report = validate_file(SPECS / f"{preset}.yaml")
    modules = interface_of(render_files(report, set()))
    assert modules
    prompt = prompt_for(report)
    for module in modules:
        for entry in module.entries:
            assert entry.signature != entry.name, f"{module.name}.{entry.name} has no definition"
            assert f"`{entry.signature}`" in prompt
