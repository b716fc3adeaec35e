"""A rendered image project on disk, and what its models.py promises in its shape comments.

models.py writes each network as nn.Sequential blocks with the shape of one sample after each
layer in a comment (``# 256 x 8 x 8``). ``commented_shapes`` reads those comments back with
the number of modules before each one, so a test can run the real modules and compare.
"""

from __future__ import annotations

import inspect
import io
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from ganspec.render.pipeline import render_files
from ganspec.validate import Report
from tests.project_imports import project_imports

Shape = tuple[int, ...]


def write_files(files: dict[str, str], folder: Path) -> None:
    """A rendered project's files (path relative to the project -> text) into ``folder``."""
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def render_into(report: Report, folder: Path) -> None:
    """Render in-process; render_files runs ruff format and ruff check on the result."""
    write_files(render_files(report, set()), folder)


def commented_shapes(source: str) -> dict[str, list[tuple[int, Shape]]]:
    """``self.NAME = nn.Sequential(...)`` -> [(modules before the comment, shape), ...].

    Entries are counted at the call's top level (commas at paren depth one), so an entry that
    ruff wrapped over several lines still counts once.
    """
    found: dict[str, list[tuple[int, Shape]]] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, token in enumerate(tokens):
        if not (token.string == "Sequential" and tokens[i - 2].string == "nn"):
            continue
        name = tokens[i - 4].string  # self . NAME = nn . Sequential
        depth, entries, shapes = 0, 0, []
        for tok in tokens[i + 1 :]:
            if tok.string in "([{" and tok.type == tokenize.OP:
                depth += 1
            elif tok.string in ")]}" and tok.type == tokenize.OP:
                depth -= 1
                if depth == 0:
                    break
            elif tok.string == "," and depth == 1:
                entries += 1
            elif tok.type == tokenize.COMMENT and depth == 1:
                text = tok.string.lstrip("# ").strip()
                shapes.append((entries, tuple(int(n) for n in text.split(" x "))))
        found[name] = shapes
    return found


def traced_shapes(block: nn.Sequential, x: torch.Tensor) -> list[Shape]:
    """The per-sample shape after each module of the block, run on x."""
    shapes = []
    with torch.no_grad():
        for module in block:
            x = module(x)
            shapes.append(tuple(x.shape[1:]))
    return shapes


def check_commented_shapes(network: nn.Module, *args: torch.Tensor | None) -> int:
    """Run ``network(*args)``, then each of its Sequential blocks on the input it received,
    and compare the shapes with the comments in the class's source; the number of comments
    checked."""
    source = inspect.getsource(type(network))
    blocks = {name: m for name, m in network.named_children() if isinstance(m, nn.Sequential)}
    received: dict[str, torch.Tensor] = {}
    hooks = [
        block.register_forward_pre_hook(
            lambda _, given, name=name: received.__setitem__(name, given[0])
        )
        for name, block in blocks.items()
    ]
    try:
        with torch.no_grad():
            network(*args)
    finally:
        for hook in hooks:
            hook.remove()
    checked = 0
    for name, expected in commented_shapes(source).items():
        actual = traced_shapes(blocks[name], received[name])
        assert len(expected) >= 1, name
        for before, shape in expected:
            assert before >= 1 and actual[before - 1] == shape, (name, before, shape, actual)
            checked += 1
        assert expected[-1][0] == len(actual), f"{name}: the last module has no shape comment"
    return checked


@contextmanager
def rendered_models(report: Report, folder: Path) -> Iterator[ModuleType]:
    """The report's project rendered into ``folder``, and its models module imported."""
    render_into(report, folder)
    with project_imports(folder) as modules:
        yield modules["models"]
