"""Fuzz ``validate_text`` and the CLI: whatever the input, the answer is exit 0, 1 or 2.

A linter meets half-edited files all day. Its contract is that it never crashes, never hangs and
never reports a problem nowhere: every non-zero exit carries a diagnostic with a message and a
line inside the file. The documents come from a seeded ``random.Random`` so that a failure
reproduces, and from two directions: structure-aware mutations (load a preset, change the tree
at a random path, dump it back) reach the rules, and text-level noise (lines, characters,
truncation, tags, anchors, garbage) reaches the reader. Hostile structures (deep nesting, alias
bombs, aliases repeated as keys, merge keys) and the file kinds a shell hands over (``<(...)``
pipes) have their own generators and checks; output must stay bounded (a few findings of each
code, short messages) and inert (one line per finding, no terminal escapes).

Inputs that would kill the interpreter itself (a stack overflow in the C YAML composer) cannot
run in-process; they have their own subprocess test at the bottom.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ganspec.cli import cli
from ganspec.diagnostics import (
    MAX_FIELD_CHARS,
    MAX_PER_CODE,
    format_github,
    format_json,
    format_text,
)
from ganspec.source import parse_text
from ganspec.validate import Report, validate_text
from tests.conftest import IMAGE_PRESETS
from tests.pipes import pipe_with

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
# Image presets: the generators below edit networks and image data. Tabular specs have their
# own fuzz test (tests/test_tabular.py).
PRESETS: dict[str, str] = {
    f"{name}.yaml": (SPECS / f"{name}.yaml").read_text("utf-8") for name in IMAGE_PRESETS
}
TREES: dict[str, dict[str, Any]] = {name: yaml.safe_load(text) for name, text in PRESETS.items()}

SEED = 20_240_607
IN_PROCESS_DOCS = 2_400
CLI_DOCS = 200
SLOW_SECONDS = 3.0  # one document; the presets validate in a few milliseconds

Document = tuple[str, str]  # (how it was made, text)

# --- building blocks --------------------------------------------------------------------------

WORDS = [
    "image", "logits", "critic", "probability", "adam", "wgan-gp", "hinge", "tanh", "batch",
    "conv", "conv_transpose", "GS305", "GS999", "lr", "kernel", "digits", "folder", "x", "",
    " ", "  padded  ", "yes", "no", "on", "off", "null", "~", "NaN", "1e-4", "2.0e-4", "0x1F",
    "caf\u00e9", "\u6f22\u5b57", "\U0001f600", "\u202eevil", "a" * 5_000,
]  # fmt: skip
FIELD_NAMES = [
    "ganspec", "name", "kind", "data", "source", "type", "shape", "channels", "height", "width",
    "features", "range", "batch_size", "classes", "augment", "layers", "output", "pack",
    "patch", "latent_dim", "init", "scheme", "std", "loss", "optimizers", "generator",
    "discriminator", "betas", "epochs", "fid", "ignore", "learning_rat", "kernal", "n_critic",
]  # fmt: skip
# Raw YAML written where a scalar was: types, edge numbers, tags, anchors, flow collections.
RAW_VALUES = [
    "0", "-1", "1", "3", "7", "64", "1000001", "99999999999999999999", "-99999999999999999999",
    "1e999", "-1e999", "1e-999", "2.0e-4", "2e-4", "0.5", "1.5", "-0.0", ".nan", ".NaN", ".inf",
    "-.inf", "0x10", "0o17", "0b101", "1_000", "12:30:00", "190:20:30", "2020-01-01",
    "2001-12-14t21:59:43.10-05:00", "null", "~", "", "true", "false", "yes", "no", "on", "off",
    "''", '""', "'text'", '"\\x00"', '"\\uD800"', "one hundred", "[]", "{}", "[1, 2]",
    "[0.5, 0.999]", "[-1.0, 1.0]", "[1.0, -1.0]", "[a, b, c]", "{a: 1}", "{type: imagenet}",
    "{conv: 64}", "[[[[1]]]]", "{x: {y: {z: 1}}}", "&anchor 5", "*alias", "&a [*a]",
    "!!python/object:os.system {}", "!!python/object/apply:os.system [echo hi]",
    "!!python/name:os.system ''", "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]",
    "!custom 1", "!<tag:yaml.org,2002:int> 3", "|\n  block text", ">-\n  folded", "'unterminated",
    '"unterminated', "{{ templated }}", "[unclosed", "{unclosed: 1", "- dash", "? complex",
    "@reserved", "`backtick", "%percent", "caf\u00e9", "\U0001f600",
]  # fmt: skip
TAGS = [
    "!!int", "!!float", "!!bool", "!!str", "!!null", "!!timestamp", "!!binary", "!!seq", "!!map",
    "!!set", "!!omap", "!!pairs", "!!merge", "!!value", "!!python/object:os.system",
    "!!python/tuple", "!local", "!<tag:example.com,2000:x>",
]  # fmt: skip
TAG_SCALARS = [
    "''", "1", "1.5", "-", "+", "0b", "0x", "maybe", "hello", "true", "2020-13-45", "2020-01-01",
    "%%%", "aGVsbG8=", ".inf", "1:2:3", "~", "[1]", "{a: 1}",
]  # fmt: skip
SNIPPETS = [
    "\t", ":", ": ", "'", '"', "[", "]", "{", "}", "{{", "}}", ",", "#", "- ", "? ", "&anchor ",
    "*alias", "*anchor", "&a ", "*a", "!!python/object:os.system ", "!!binary ", "!tag ", "|",
    ">", "%YAML 1.1\n", "---\n", "...\n", "\n", "\r", "\r\n", "\x00", "\x07", "\x1b[31m", "\x85",
    "\u2028", "\ufeff", "\ud800", "\u00e9", "\u202e", "\U0001f600", "\\", "@", "`", "<<: *a\n",
    "    ", "\n  ", "9" * 30, "-1", ".nan", "1e999",
]  # fmt: skip

CHANNELS = [1, 2, 3, 4, 8, 10, 64, 100, 128, 512]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A Python value of any YAML-representable type, nested a little."""
    kind = rng.randrange(12 if depth < 3 else 9)
    if kind == 0:
        return rng.choice([0, 1, -1, 2, 3, 4, 7, 64, 100, 10**6, 10**6 + 1, 2**31, 2**63, 10**20])
    if kind == 1:
        return -rng.randrange(1, 10**6)
    if kind == 2:
        return rng.choice([0.0, -0.0, 0.5, 1.5, 1e-300, 1e300, 2e-4, float("nan"), float("inf")])
    if kind == 3:
        return -float("inf")
    if kind in (4, 5):
        return rng.choice(WORDS)
    if kind == 6:
        return None
    if kind == 7:
        return rng.random() < 0.5
    if kind == 8:
        return rng.choice(CHANNELS)
    if kind == 9:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 10:
        return {
            rng.choice(FIELD_NAMES): random_value(rng, depth + 1) for _ in range(rng.randrange(4))
        }
    return random_layer(rng)


def random_layer(rng: random.Random) -> dict[str, Any]:
    """A plausible layer with small parameters: reaches the shape math and the fix solver."""
    op = rng.choice(
        ["linear", "reshape", "flatten", "conv", "conv_transpose", "upsample", "pixel_shuffle",
         "avg_pool", "max_pool", "global_avg_pool", "embedding"]
    )  # fmt: skip
    layer: dict[str, Any]
    if op in ("conv", "conv_transpose"):
        layer = {op: rng.choice(CHANNELS), "kernel": rng.randint(1, 6)}
        layer.update({"stride": rng.randint(1, 3), "padding": rng.randint(0, 3)})
        if op == "conv_transpose" and rng.random() < 0.3:
            layer["output_padding"] = rng.randint(0, 2)
        if rng.random() < 0.2:
            layer[rng.choice(["dilation", "groups"])] = rng.randint(1, 4)
    elif op in ("avg_pool", "max_pool"):
        layer = {op: rng.randint(1, 4), "padding": rng.randint(0, 2)}
        if rng.random() < 0.5:
            layer["stride"] = rng.randint(1, 3)
        if rng.random() < 0.3:
            layer["ceil_mode"] = True
    elif op == "reshape":
        layer = {op: rng.choice([[100, 1, 1], [64, 4, 4], [128], [2], [512, 4, 4], [1, 2]])}
    elif op in ("flatten", "global_avg_pool"):
        layer = {op: True}
    elif op == "upsample":
        layer = {op: rng.choice([0.5, 1, 1.5, 2, 4, 64])}
    elif op == "pixel_shuffle":
        layer = {op: rng.randint(1, 3)}
    elif op == "embedding":
        layer = {op: rng.choice([9, 10, 11]), "dim": rng.choice([1, 10, 50])}
    else:
        layer = {op: rng.choice([1, 2, 3, 64, 400, 8192])}
    for option, choices in (
        ("norm", ["batch", "instance", "layer", "none"]),
        ("act", ["relu", "leaky_relu", "tanh", "sigmoid", "none"]),
        ("spectral_norm", [True, False]),
        ("dropout", [0.0, 0.3, 0.99]),
    ):
        if rng.random() < 0.25:
            layer[option] = rng.choice(choices)
    return layer


# --- tree (structure-aware) mutations ---------------------------------------------------------

PathKey = tuple[str | int, ...]


def tree_paths(node: Any, path: PathKey = ()) -> list[PathKey]:
    """Every key and list index below ``node``."""
    found: list[PathKey] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*path, key))
            found += tree_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*path, index))
            found += tree_paths(value, (*path, index))
    return found


def typo(rng: random.Random, word: str) -> str:
    if not word:
        return "x"
    i = rng.randrange(len(word))
    choice = rng.randrange(4)
    if choice == 0:
        return word[:i] + word[i + 1 :]
    if choice == 1:
        return word[:i] + rng.choice("aeiou_-") + word[i:]
    if choice == 2 and len(word) > 1:
        j = min(i + 1, len(word) - 1)
        return word[:i] + word[j] + word[i] + word[j + 1 :]
    return word.upper() if rng.random() < 0.5 else word + "s"


def mutate_tree(rng: random.Random, tree: dict[str, Any]) -> str:
    """Change one node of ``tree`` in place; returns a short description."""
    path = rng.choice(tree_paths(tree))
    parent: Any = tree
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    where = ".".join(str(p) for p in path)
    action = rng.randrange(10)
    if action <= 2:
        parent[last] = random_value(rng)
        return f"set {where}"
    if action == 3:
        del parent[last]
        return f"delete {where}"
    if action == 4 and isinstance(last, str):
        value = parent.pop(last)
        parent[typo(rng, last)] = value
        return f"rename {where}"
    if action == 5:
        if isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        else:
            parent[rng.choice(FIELD_NAMES)] = random_value(rng)
        return f"grow {where}"
    if action == 6:
        parent[last] = [parent[last]] if rng.random() < 0.5 else {"value": parent[last]}
        return f"wrap {where}"
    if (
        action == 7
        and isinstance(parent[last], (int, float))
        and not isinstance(parent[last], bool)
    ):
        value = parent[last]
        parent[last] = rng.choice([value + 1, value - 1, value * 2, -value, 0, value / 2])
        return f"nudge {where}"
    if action == 8:
        network = rng.choice(["generator", "discriminator"])
        if isinstance(tree.get(network), dict) and isinstance(tree[network].get("layers"), list):
            layers = tree[network]["layers"]
            if layers and rng.random() < 0.6:
                layers[rng.randrange(len(layers))] = random_layer(rng)
            else:
                tree[network]["layers"] = [random_layer(rng) for _ in range(rng.randint(1, 8))]
            return f"layers of {network}"
    parent[last] = None
    return f"null {where}"


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(rng: random.Random, tree: Any) -> str:
    return yaml.dump(
        tree,
        Dumper=_Dumper,
        sort_keys=rng.random() < 0.2,
        default_flow_style=rng.choice([False, None, True]),
        allow_unicode=rng.random() < 0.5,
        width=rng.choice([40, 100, 10**6]),
    )


def doc_tree(rng: random.Random) -> Document:
    name = rng.choice(list(TREES))
    tree = copy.deepcopy(TREES[name])
    steps = [mutate_tree(rng, tree) for _ in range(rng.choice([1, 1, 1, 2, 3, 6]))]
    return f"tree {name}: {'; '.join(steps)}", dump(rng, tree)


def _set(tree: dict[str, Any], path: PathKey, value: Any) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[path[-1]] = value


# Type-correct edits that real users make: each one can trip a GS2xx-GS5xx rule on its own.
SEMANTIC: list[tuple[PathKey, list[Any]]] = [
    (("training", "loss"), ["minimax", "nonsaturating", "wgan", "wgan-gp", "hinge", "lsgan"]),
    (("discriminator", "output"), ["logits", "probability", "critic"]),
    (("discriminator", "pack"), [1, 2, 3, 4, 5, 7]),
    (("discriminator", "spectral_norm"), [True, False]),
    (("discriminator", "patch"), [[2, 2], [4, 4], [1, 1]]),
    (("generator", "spectral_norm"), [True]),
    (("data", "batch_size"), [1, 7, 64, 100, 256]),
    (("data", "classes"), [5, 10, 11]),
    (("data", "range"), [[0.0, 1.0], [-1.0, 1.0], [0.0, 255.0], [-0.5, 0.5]]),
    (("data", "augment"), [["hflip"], ["translation", "color", "cutout"], []]),
    (("data", "source"), [{"type": t} for t in ("digits", "ring8", "grid25", "synthetic")]),
    (("data", "shape"), [{"features": 2}, {"channels": 1, "height": 28, "width": 28}]),
    (("data", "shape", "height"), [31, 32, 63, 64, 65]),
    (("training", "optimizers", "generator", "betas"), [[0.9, 0.999], [0.5, 0.9], [0.0, 0.9]]),
    (("training", "optimizers", "discriminator", "lr"), [1e-3, 2e-4, 0.1]),
    (("training", "optimizers", "generator", "type"), ["adam", "adamw", "rmsprop", "sgd"]),
    (("training", "gradient_penalty"), [10.0, 1.0]),
    (("training", "weight_clip"), [0.01]),
    (("training", "d_steps_per_g_step"), [1, 2, 5]),
    (("training", "label_smoothing"), [0.1, 0.0]),
    (("training", "amp"), ["fp16", "bf16", "off"]),
    (("training", "checkpoint_every"), [1, 10, 1000]),
    (("training", "epochs"), [1, 3, 25]),
    (("validation", "on_nan"), ["continue", "stop", "stop_and_save_last_good"]),
    (("validation", "d_fake_healthy"), [[0.7, 0.3], [0.0, 1.0], [0.3, 0.7], [-1.0, 2.0]]),
    (("validation", "log"), [["loss_g", "loss_d"], ["d_real"]]),
    (("validation", "sample_grid_every"), [1, 1000]),
    (("validation", "fid"), [{"every": 5, "samples": 500, "features": "inception"}]),
    (("ignore",), [["GS305"], ["GS201"], ["GS302", "GS307", "GS501"], ["GS199"]]),
]


def doc_semantic(rng: random.Random) -> Document:
    """Well-typed edits, plus layer tweaks: specs that parse and reach the rule families."""
    name = rng.choice(list(TREES))
    tree = copy.deepcopy(TREES[name])
    steps = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        if rng.random() < 0.35:
            network = rng.choice(["generator", "discriminator"])
            layers = tree[network]["layers"]
            index = rng.randrange(len(layers))
            option, values = rng.choice(
                [
                    ("act", ["tanh", "sigmoid", "relu", "leaky_relu", "none"]),
                    ("norm", ["batch", "instance", "layer", "none"]),
                    ("kernel", [1, 2, 3, 4, 5]),
                    ("stride", [1, 2, 3]),
                    ("padding", [0, 1, 2]),
                    ("spectral_norm", [True]),
                    ("groups", [2, 3]),
                    ("output_padding", [1, 2]),
                ]
            )
            layers[index][option] = rng.choice(values)
            if rng.random() < 0.15:
                layers.insert(rng.randrange(len(layers) + 1), random_layer(rng))
            steps.append(f"{network}.layers[{index}].{option}")
        elif rng.random() < 0.15:
            section = rng.choice(["generator", "discriminator", "training", "validation"])
            key = rng.choice(["init", "checkpoint_every", "on_nan", "fid", "log", "betas"])
            if isinstance(tree.get(section), dict):
                tree[section].pop(key, None)
            steps.append(f"drop {section}.{key}")
        else:
            path, values = rng.choice(SEMANTIC)
            _set(tree, path, rng.choice(values))
            steps.append(".".join(str(p) for p in path))
    return f"semantic {name}: {'; '.join(steps)}", dump(rng, tree)


# --- text mutations ---------------------------------------------------------------------------


def mutate_lines(rng: random.Random, text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    action = rng.randrange(6)
    if action == 0:
        del lines[i]
        return f"delete line {i + 1}", "".join(lines)
    if action == 1:
        lines.insert(i, lines[i])
        return f"duplicate line {i + 1}", "".join(lines)
    if action == 2:
        lines[i], lines[j] = lines[j], lines[i]
        return f"swap lines {i + 1},{j + 1}", "".join(lines)
    if action == 3:
        lines.insert(j, lines.pop(i))
        return f"move line {i + 1} to {j + 1}", "".join(lines)
    if action == 4:
        shift = rng.choice([-4, -2, -1, 1, 2, 3])
        line = lines[i]
        lines[i] = " " * shift + line if shift > 0 else line[min(-shift, len(line)) :]
        return f"indent line {i + 1} by {shift}", "".join(lines)
    lines[i : i + rng.randint(2, 10)] = []
    return f"delete lines from {i + 1}", "".join(lines)


def replace_scalar(rng: random.Random, text: str) -> tuple[str, str]:
    """Swap the value after a ``key: `` (block or flow) for a raw YAML token or tagged scalar."""
    spots = [i + 2 for i in range(len(text) - 2) if text[i] == ":" and text[i + 1] == " "]
    if not spots:
        return "no scalar", text
    start = rng.choice(spots)
    end = start
    while end < len(text) and text[end] not in ",}\n":
        end += 1
    if rng.random() < 0.25:
        token = f"{rng.choice(TAGS)} {rng.choice(TAG_SCALARS)}"
    else:
        token = rng.choice(RAW_VALUES)
    return f"scalar at {start} := {token[:40]!r}", text[:start] + token + text[end:]


def insert_noise(rng: random.Random, text: str) -> tuple[str, str]:
    steps = []
    for _ in range(rng.choice([1, 1, 2, 5])):
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.8:
            piece = rng.choice(SNIPPETS)
        else:
            piece = chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x110000)]))
        if rng.random() < 0.3 and text:
            text = text[:at] + piece + text[at + 1 :]
        else:
            text = text[:at] + piece + text[at:]
        steps.append(f"{piece[:12]!r}@{at}")
    return "insert " + ", ".join(steps), text


def doc_text(rng: random.Random) -> Document:
    name = rng.choice(list(PRESETS))
    text = PRESETS[name]
    steps = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        op = rng.choice([mutate_lines, mutate_lines, replace_scalar, replace_scalar, insert_noise])
        step, text = op(rng, text)
        steps.append(step)
    return f"text {name}: {'; '.join(steps)}", text


def doc_truncated(rng: random.Random) -> Document:
    name = rng.choice(list(PRESETS))
    at = rng.randrange(len(PRESETS[name]) + 1)
    return f"truncate {name} at {at}", PRESETS[name][:at]


def doc_tree_then_text(rng: random.Random) -> Document:
    origin, text = doc_tree(rng)
    step, text = rng.choice([mutate_lines, replace_scalar, insert_noise])(rng, text)
    return f"{origin}; then {step}", text


# --- hostile structures -----------------------------------------------------------------------


def doc_deep(rng: random.Random) -> Document:
    """Nesting around and beyond the loader's depth limit, kept well below C-stack danger."""
    depth = rng.choice([30, 63, 64, 65, 100, 500, 2_000])
    style = rng.randrange(4)
    if style == 0:
        inner = "[" * depth + "1" + "]" * depth
    elif style == 1:
        inner = "{a: " * depth + "1" + "}" * depth
    elif style == 2:
        inner = "[" * depth  # never closed
    else:
        inner = "\n" + "".join("  " * (i + 2) + f"k{i}:\n" for i in range(min(depth, 400)))
    name = rng.choice(list(PRESETS))
    lines = PRESETS[name].splitlines()
    where = rng.choice(["latent_dim", "batch_size", "description", "epochs", "seed", "ROOT"])
    if where == "ROOT":
        return f"deep {style}x{depth} at root", "nested: " + inner + "\n"
    lines = [
        line.split(":")[0] + ": " + inner if line.strip().startswith(where + ":") else line
        for line in lines
    ]
    return f"deep {style}x{depth} at {where} of {name}", "\n".join(lines) + "\n"


def doc_alias(rng: random.Random) -> Document:
    """Billion laughs of random width and depth, recursive anchors, undefined aliases, and
    aliases used as keys (``? *k``), repeated up to past the node limit."""
    style = rng.randrange(7)
    if style >= 5:
        key = rng.choice([*FIELD_NAMES[:12], "k" * rng.choice([100, 5_000, 200_000])])
        repeats = rng.choice([1, 2, 50, 5_000, 30_000])
        base = PRESETS[rng.choice(list(PRESETS))] if style == 5 else ""
        keys = f"? &k {key}\n: 0\n" + "".join(f"? *k\n: {i}\n" for i in range(repeats))
        return f"alias key {key[:12]!r} x{repeats}", base + keys
    if style <= 1:
        width, depth = rng.choice([(10, 9), (10, 5), (3, 20), (2, 40), (100, 3)])
        rows = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
        for level in range(1, depth):
            refs = ", ".join([f"*a{level - 1}"] * width)
            rows.append(f"a{level}: &a{level} [{refs}]")
        key = rng.choice(["description", "ignore", "name", "extra"])
        bomb = "\n".join(rows) + f"\n{key}: *a{depth - 1}\n"
        base = PRESETS[rng.choice(list(PRESETS))]
        return f"alias bomb {width}^{depth} into {key}", base + bomb
    if style == 2:
        return "recursive anchor", rng.choice(
            ["a: &a [*a]\n", "a: &a {b: *a}\n", "ganspec: 1\nkind: image\ndata: &d {x: *d}\n"]
        )
    if style == 3:
        return "undefined alias", "ganspec: 1\nkind: image\ndata: *nowhere\n"
    return "alias as key", "&k kind: image\n*k : again\nganspec: 1\n"


def doc_random_yaml(rng: random.Random) -> Document:
    """A random tree dumped as YAML: any root type, any keys."""
    root: Any
    shape = rng.randrange(4)
    if shape == 0:
        root = random_value(rng)
    elif shape == 1:
        root = {rng.choice(FIELD_NAMES): random_value(rng) for _ in range(rng.randint(1, 12))}
    else:
        root = {"ganspec": 1, "kind": "image", **{f: random_value(rng) for f in FIELD_NAMES[:12]}}
    return "random yaml", dump(rng, root)


def doc_garbage(rng: random.Random) -> Document:
    style = rng.randrange(5)
    size = rng.choice([0, 1, 5, 50, 500, 5000])
    if style == 0:
        data = bytes(rng.randrange(256) for _ in range(size))
        return "random bytes as latin-1", data.decode("latin-1")
    if style == 1:
        return "random printable", "".join(chr(rng.randrange(32, 127)) for _ in range(size))
    if style == 2:
        return "token soup", "".join(rng.choice(SNIPPETS + WORDS[:30]) for _ in range(size // 5))
    if style == 3:
        return "random unicode", "".join(chr(rng.randrange(0x110000)) for _ in range(size))
    return "yaml furniture", rng.choice(
        ["---\n", "...\n", "---\n---\n", "%YAML 1.2\n---\na: 1\n", "%TAG ! tag:x,2000:\n---\n!a 1",
         "# only a comment\n", "\n\n\n", " ", "\ufeff", "a: 1\n---\nb: 2\n", "? [a]\n: 1\n",
         "[a, b]: 1\n", "ganspec: 1\nkind: image\n", "kind: image\n", "ganspec: 1\n"]
    )  # fmt: skip


# --- merge keys (<<) -------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    """A scalar as flow YAML that PyYAML and ganspec read alike (``0.0002``, ``'yes'``)."""
    return _scalar_text(type(value), value)


@cache
def _scalar_text(_kind: type, value: Any) -> str:  # the type keeps 1, 1.0 and true apart
    text = yaml.dump([value], Dumper=_Dumper, default_flow_style=True, width=10**6)
    return text.strip()[1:-1]  # dumped inside a flow list, so quoted as a flow context needs


class MergeWriter:
    """Writes a tree as flow YAML that shares structure through anchors and merge keys.

    Mappings are split into an anchored part merged in (``<<: &m3 {...}``) and keys written
    next to it, some of which override a decoy value in the merged part; several merged parts
    (``<<: [*a, *b]``) where the first must win; and later mappings that contain an earlier
    anchored one merge it (``{<<: *m3, lr: 0.001}``) or alias it whole. Read back under YAML's
    merge rules, the tree comes out unchanged.
    """

    DECOY = "decoy-value"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.anchors: list[tuple[str, dict[str, Any]]] = []  # complete ones, to reuse
        self.names = 0
        self.merges = 0

    def write(self, value: Any) -> str:
        if isinstance(value, dict):
            return self._mapping(value)
        if isinstance(value, list):
            return "[" + ", ".join(self.write(item) for item in value) + "]"
        return _scalar(value)

    def _anchored(self, mapping: dict[str, Any]) -> str:
        self.names += 1
        name = f"m{self.names}"
        text = f"&{name} {self._pairs(mapping)}"
        self.anchors.append((name, mapping))
        return text

    def _pairs(self, mapping: dict[str, Any], merge: Callable[[], str] | None = None) -> str:
        """``{key: value, ...}``, with ``<<: merge()`` among them; written in text order, so
        that every anchor is defined before an alias refers to it."""
        pairs: list[Callable[[], str]] = [
            lambda key=key, value=value: f"{_scalar(key)}: {self.write(value)}"
            for key, value in mapping.items()
        ]
        if merge is not None:
            self.merges += 1
            pairs.insert(self.rng.randint(0, len(pairs)), lambda: f"<<: {merge()}")
        return "{" + ", ".join(pair() for pair in pairs) + "}"

    def _mapping(self, mapping: dict[str, Any]) -> str:
        rng = self.rng
        roll = rng.random()
        earlier = [(name, old) for name, old in self.anchors if old and set(old) <= set(mapping)]
        if earlier and roll < 0.5:
            name, old = rng.choice(earlier)
            rest = {k: v for k, v in mapping.items() if k not in old or old[k] != v}
            if not rest and old == mapping and rng.random() < 0.5:
                return f"*{name}"
            return self._pairs(rest, lambda: f"*{name}")
        if len(mapping) >= 2 and roll < 0.8:
            keys = list(mapping)
            rng.shuffle(keys)
            cut = rng.randint(1, len(keys) - 1)
            merged = {k: mapping[k] for k in keys[:cut]}
            own = {k: mapping[k] for k in keys[cut:]}
            for key in own:  # written next to the merge: must override the merged decoy
                if rng.random() < 0.3:
                    merged[key] = self.DECOY
            if len(merged) >= 2 and rng.random() < 0.4:
                first_keys = keys[: max(1, cut // 2)]
                first = {k: merged[k] for k in first_keys}
                second = {k: merged[k] for k in merged if k not in first_keys}
                for key in first:  # the first merged mapping wins over the second
                    if rng.random() < 0.3:
                        second[key] = self.DECOY
                return self._pairs(
                    own, lambda: f"[{self._anchored(first)}, {self._anchored(second)}]"
                )
            return self._pairs(own, lambda: self._anchored(merged))
        if roll < 0.9:
            return self._anchored(mapping)
        return self._pairs(mapping)


def with_merges(rng: random.Random, tree: dict[str, Any]) -> tuple[str, int]:
    writer = MergeWriter(rng)
    return writer.write(tree) + "\n", writer.merges


MERGE_JUNK = [
    "{<<: 1}", "{<<: [1, 2]}", "{<<: [[]]}", "{<<: null}", "{<<: {}}", "{<<: *nowhere}",
    "&self {<<: *self}", "{<<: {<<: {<<: {a: 1}}}}", "{<<: {a: 1}, <<: {b: 2}}",
    "{<<: {a: 1}, a: 2, a: 3}", "{<<: !!set {a}}", "{'<<': {a: 1}}", "{<<: [{a: 1}, {a: 2}]}",
]  # fmt: skip


def doc_merge(rng: random.Random) -> Document:
    """A preset that shares its structure through merge keys, then maybe damaged; or a merge
    key given something that cannot be merged."""
    name = rng.choice(list(TREES))
    if rng.random() < 0.25:
        tree = copy.deepcopy(TREES[name])
        path = rng.choice([p for p in tree_paths(tree) if isinstance(p[-1], str)])
        junk = rng.choice(MERGE_JUNK)
        _set(tree, path, "JUNK")
        return f"merge junk {junk} at {path}", dump(rng, tree).replace("JUNK", junk, 1)
    tree = copy.deepcopy(TREES[name])
    steps = [mutate_tree(rng, tree) for _ in range(rng.choice([0, 0, 1, 2]))]
    text, merges = with_merges(rng, tree)
    return f"merge {name} ({merges} merges): {'; '.join(steps)}", text


GENERATORS: list[tuple[Callable[[random.Random], Document], int]] = [
    (doc_semantic, 25),
    (doc_tree, 25),
    (doc_text, 20),
    (doc_tree_then_text, 10),
    (doc_truncated, 8),
    (doc_deep, 5),
    (doc_alias, 2),  # each bomb costs ~0.1 s: it is expanded up to the node limit
    (doc_merge, 6),
    (doc_random_yaml, 9),
    (doc_garbage, 8),
]


def fuzz_documents(seed: int, count: int) -> list[Document]:
    rng = random.Random(seed)
    makers, weights = zip(*GENERATORS, strict=True)
    return [rng.choices(makers, weights)[0](rng) for _ in range(count)]


# --- checking ---------------------------------------------------------------------------------


def problems_with(report: Report, text: str) -> list[str]:
    """What breaks the contract in one report (empty when all is well)."""
    found = []
    last_line = len(text.splitlines()) + 1
    if report.exit_code not in (0, 1, 2):
        found.append(f"exit code {report.exit_code}")
    if report.exit_code and not any(d.message and d.line >= 1 for d in report.diagnostics):
        found.append(f"exit {report.exit_code} without a placed diagnostic")
    if report.exit_code == 0 and report.errors:
        found.append("errors reported but exit 0")
    if report.exit_code == 1 and not report.errors:
        found.append("exit 1 without an error diagnostic")
    for d in report.diagnostics:
        if not d.message.strip():
            found.append(f"{d.code} with an empty message")
        if not 1 <= d.line <= last_line or d.column < 1:
            found.append(f"{d.code} at {d.line}:{d.column}, outside the {last_line - 1}-line file")
    payload = json.loads(format_json(report.diagnostics))
    if not isinstance(payload, list) or len(payload) != len(report.diagnostics):
        found.append("format_json does not round-trip")
    # Bounded and inert output: a few findings of each code, short messages, one line each.
    if any(n > MAX_PER_CODE + 1 for n in Counter(d.code for d in report.diagnostics).values()):
        found.append(f"more than {MAX_PER_CODE + 1} findings of one code")
    if any(len(d.message) > MAX_FIELD_CHARS + 100 for d in report.diagnostics):
        found.append("a message longer than the field limit")
    for name, output in (
        ("text", format_text(report.diagnostics)),
        ("github", format_github(report.diagnostics)),
    ):
        if len(output.splitlines()) != len(report.diagnostics):
            found.append(f"{name} output is not one line per finding")
        if "\x1b" in output or "\x9b" in output:
            found.append(f"{name} output carries a terminal escape")
    return found


def _where(exc: BaseException) -> str:
    """The innermost frame, so failures with the same cause group together."""
    frames = traceback.extract_tb(exc.__traceback__)
    frame = frames[-1] if frames else None
    place = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
    # Without the quoted value and the numbers, one cause is one signature.
    reason = str(exc).encode("ascii", "backslashreplace").decode("ascii")
    reason = re.sub(r"'[^']*'|\d+", "_", re.sub(r"\\[xuU][0-9a-fA-F]+", "_", reason))[:80]
    return f"{type(exc).__name__} at {place}: {reason}"


@dataclass
class FuzzResult:
    checked: int = 0
    exits: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[Document]] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, signature: str, document: Document) -> None:
        self.failures.setdefault(signature, []).append(document)

    def summary(self) -> str:
        parts = [
            f"{len(self.failures)} distinct failure(s) in {self.checked} documents"
            f" ({self.seconds:.1f} s):"
        ]
        for signature, documents in sorted(self.failures.items()):
            origin, text = min(documents, key=lambda doc: len(doc[1]))
            parts.append(
                f"\n- {signature}  [{len(documents)}x]\n  smallest: {origin}\n"
                f"  text: {text[:300]!r}"
            )
        return "\n".join(parts)


@cache
def fuzz_result() -> FuzzResult:
    """Validate the whole in-process corpus once; several tests read the outcome."""
    result = FuzzResult()
    start = time.perf_counter()
    for document in fuzz_documents(SEED, IN_PROCESS_DOCS):
        _origin, text = document
        began = time.perf_counter()
        try:
            report = validate_text(text, "<fuzz>")
            for problem in problems_with(report, text):
                result.fail(problem, document)
        except Exception as exc:
            result.fail(_where(exc), document)
        else:
            result.exits[report.exit_code] += 1
            result.codes.update(d.code for d in report.diagnostics)
        took = time.perf_counter() - began
        if took > SLOW_SECONDS:
            result.fail(f"slower than {SLOW_SECONDS}s ({took:.1f}s)", document)
        result.checked += 1
    result.seconds = time.perf_counter() - start
    return result


# --- the tests --------------------------------------------------------------------------------


def test_fuzz_corpus_is_deterministic_and_large() -> None:
    """Same seed, same documents: a failure seen in CI reproduces locally."""
    first = fuzz_documents(SEED, 200)
    assert first == fuzz_documents(SEED, 200)
    assert len({text for _, text in first}) > 150, "the generators repeat themselves"
    assert IN_PROCESS_DOCS >= 2_000


def test_every_fuzzed_document_ends_in_exit_0_1_or_2_with_placed_diagnostics() -> None:
    """No exception escapes validate_text, and every finding points inside the file."""
    result = fuzz_result()
    assert result.checked == IN_PROCESS_DOCS
    if result.failures:
        pytest.fail(result.summary(), pytrace=False)


def test_the_fuzzer_reaches_every_outcome_and_many_rules() -> None:
    """Guard the fuzzer itself: all noise and no valid specs would test only the YAML reader."""
    result = fuzz_result()
    assert all(result.exits[code] >= 20 for code in (0, 1, 2)), result.exits
    families = {code[:3] for code in result.codes}
    assert families >= {"GS1", "GS2", "GS3", "GS4", "GS5"}, sorted(result.codes)
    assert len(result.codes) >= 40, sorted(result.codes)


def _without_file(output: str, file: str) -> Any:
    payload = json.loads(output)
    for item in payload:
        assert item.pop("file") == file
    return payload


def test_cli_survives_fuzzed_files(tmp_path: Path) -> None:
    """The click entry point on files on disk (``--explain`` too): no escaped exception,
    exit 0/1/2, and JSON output that parses. Every tenth document is also read through a pipe
    (``validate <(...)``), which must give the same answer as the file."""
    runner = CliRunner()
    failures: dict[str, list[Document]] = {}
    for index, document in enumerate(fuzz_documents(SEED + 1, CLI_DOCS)):
        _origin, text = document
        path = tmp_path / f"doc{index}.yaml"
        # Lone surrogates cannot be UTF-8: written raw they exercise the not-UTF-8 path.
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        fmt = ("json", "text", "github")[index % 3]
        explain = ["--explain"] if index % 4 == 0 else []
        outcome = runner.invoke(cli, ["validate", str(path), "--format", fmt, *explain])
        exc = outcome.exception
        if exc is not None and not isinstance(exc, SystemExit):
            failures.setdefault(_where(exc), []).append(document)
        elif outcome.exit_code not in (0, 1, 2):
            failures.setdefault(f"exit code {outcome.exit_code}", []).append(document)
        elif fmt == "json" and not isinstance(json.loads(outcome.stdout), list):
            failures.setdefault("json output is not a list", []).append(document)
        elif fmt == "json" and index % 10 == 0 and hasattr(os, "pipe"):
            with pipe_with(path.read_bytes()) as pipe:
                piped = runner.invoke(cli, ["validate", pipe, "--format", "json"])
            same = piped.exit_code == outcome.exit_code and _without_file(
                piped.stdout, pipe
            ) == _without_file(outcome.stdout, str(path))
            if not same:
                failures.setdefault("a pipe reads differently from a file", []).append(document)
    if failures:
        pytest.fail(FuzzResult(checked=CLI_DOCS, failures=failures).summary(), pytrace=False)


MERGE_DOCS = 56


def _findings(report: Report) -> list[tuple[str, str]]:
    return sorted((d.code, d.path) for d in report.diagnostics)


@cache
def _plain_outcome(text: str) -> tuple[int, list[tuple[str, str]]]:
    report = validate_text(text)
    return report.exit_code, _findings(report)


def test_merge_keys_keep_the_meaning_of_every_preset() -> None:
    """A spec that shares its structure through merge keys (``<<``) reads as the tree it was
    written from, and validates as the plain spec does: no duplicate key for an override, no
    finding the plain spec does not have, none missing.

    The tree is the oracle, not PyYAML: PyYAML 6.0.4 lets the *last* of ``<<: [*a, *b]`` win
    for keys longer than one character, where YAML says the first wins."""
    rng = random.Random(SEED + 2)
    names = list(TREES)
    merges = 0
    failures: list[str] = []
    for index in range(MERGE_DOCS):
        name = names[index % len(names)]
        tree = copy.deepcopy(TREES[name])
        if index % 2:  # a type-correct edit, so that rules fire on merged values too
            path, values = rng.choice(SEMANTIC)
            _set(tree, path, rng.choice(values))
        text, count = with_merges(rng, tree)
        merges += count
        if parse_text(text, "<merged>").data != tree:
            failures.append(f"{name}: reads back as another tree:\n{text[:600]}")
            continue
        merged = validate_text(text)
        found = (merged.exit_code, _findings(merged))
        wanted = _plain_outcome(yaml.dump(tree, Dumper=_Dumper, sort_keys=False))
        if found != wanted:
            failures.append(f"{name}: {found} instead of {wanted}:\n{text[:600]}")
        failures += [f"{name}: {problem}" for problem in problems_with(merged, text)]
    assert merges > 3 * MERGE_DOCS, "the writer hardly merges anything"
    assert not failures, "\n".join(failures[:5])


# --- reproducers for what the fuzzer found ----------------------------------------------------

DCGAN = PRESETS["dcgan-64.yaml"]


@pytest.mark.parametrize(
    "tagged",
    ["!!bool maybe", "!!int ''", "!!float ''", "!!timestamp hello", "!!int 1.5", "!!int 0x"],
)
def test_core_tag_with_an_unreadable_value_is_unusable_input_not_a_crash(tagged: str) -> None:
    """PyYAML's safe constructors raise KeyError/IndexError/AttributeError on some values."""
    text = DCGAN.replace("seed: 0", f"seed: {tagged}")
    report = validate_text(text)
    assert report.exit_code == 2
    assert report.diagnostics[0].code == "GS100" and report.diagnostics[0].line == 8


def test_text_with_a_lone_surrogate_is_unusable_input_not_a_crash() -> None:
    """validate_text takes any str; libyaml's encoder raises UnicodeEncodeError on surrogates."""
    report = validate_text(DCGAN.replace("dcgan_64", "dcgan_\ud800"))
    assert report.exit_code == 2
    assert report.diagnostics[0].code == "GS100"


def _with_generator_layers(layers: list[str]) -> str:
    head, _, rest = DCGAN.partition("generator:\n")
    tail = rest[rest.index("  init:") :]
    body = "".join(f"    - {layer}\n" for layer in layers)
    return f"{head}generator:\n  latent_dim: 100\n  layers:\n{body}{tail}"


@pytest.mark.parametrize(
    ("case", "layers"),
    [
        ("upsample past float range", ["{reshape: [100, 1, 1]}"] + ["{upsample: 64}"] * 190),
        (
            "huge sizes meet upsample",
            ["{reshape: [100, 1, 1]}"]
            + ["{conv_transpose: 3, kernel: 1000000, stride: 1000000}"] * 60
            + ["{upsample: 2}"],
        ),
    ],
)
def test_astronomical_layer_sizes_are_reported_not_raised(case: str, layers: list[str]) -> None:
    """Every value is in range, so the schema passes; the shape trace must not overflow."""
    report = validate_text(_with_generator_layers(layers))
    assert report.exit_code == 1, case
    assert any(d.code.startswith("GS2") for d in report.diagnostics), case


def test_spec_version_true_is_not_version_1() -> None:
    """``ganspec: true`` is a boolean; ``True == 1`` in Python must not make it a version."""
    report = validate_text(DCGAN.replace("ganspec: 1", "ganspec: true"))
    assert report.exit_code == 1
    assert any(d.code in ("GS104", "GS106") and d.line == 2 for d in report.diagnostics)


def _run_cli(path: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ganspec", "validate", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.mark.parametrize("depth", [30_000, 100_000])
def test_deep_flow_nesting_is_refused_quickly_without_killing_the_process(
    tmp_path: Path, depth: int
) -> None:
    """60 KB of ``[`` overflows the C stack in PyYAML's C composer (a segfault, not exit 2);
    libyaml's parser is also quadratic in the depth (200 KB: about 20 s before composing)."""
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    try:
        result = _run_cli(path, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"validate takes more than 10 s on {depth} nested brackets")
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr[-500:]}"
    (item,) = json.loads(result.stdout)
    assert item["code"] == "GS100" and "nesting" in item["message"]


def test_a_200_layer_network_validates_in_seconds(tmp_path: Path) -> None:
    """The fix solver retraces the whole net per candidate: quadratic in the layer count."""
    layers = ["{reshape: [100, 1, 1]}", "{conv_transpose: 8, kernel: 64}"]
    layers += ["{conv: 8, kernel: 1}"] * 197 + ["{flatten: true}"]
    path = tmp_path / "long.yaml"
    path.write_text(_with_generator_layers(layers), encoding="utf-8")
    try:
        result = _run_cli(path, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("validating a 200-layer generator takes more than 5 s")
    assert result.returncode == 1
