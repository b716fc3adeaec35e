"""A spec's contracts: the files of a render that state what the code must do, and the list of
contract tests in them, each with the GAN surface it checks.

``ganspec check`` writes these files over a copy of the code it checks, so the code is held
to the spec's own contracts rather than to whatever tests sit beside it. The list is read
from the test sources (``ast``, no import): a test belongs to the surface its
``@pytest.mark.surface("...")`` names, or its module's ``pytestmark``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import PurePosixPath

SURFACES = ("data pipeline", "discriminator", "generator", "training loop", "validation protocol")
# Rendered files that are the spec's contracts, not an implementation of them, per kind: the
# tests, and what the tests read as the spec's statement (config.yaml, the data contract).
CONTRACT_FILES = {
    "image": ("tests/", "config.yaml"),
    "tabular": (
        "tests/",
        "contract.py",
        "customers.py",
    ),  # customers.py: the demo table's generator
    "superres": ("tests/", "contract.py"),
}


@dataclass(frozen=True)
class Contract:
    """One contract test: where it is, what it checks, and on which surface."""

    file: str  # relative to the project, e.g. tests/test_contracts.py
    name: str  # the test function (Class::method inside a test class)
    surface: str | None
    summary: str  # the docstring's first sentence, or the name in words

    @property
    def nodeid(self) -> str:
        return f"{self.file}::{self.name}"


def contract_files(kind: str, rendered: dict[str, str]) -> dict[str, str]:
    """The rendered files that make up ``kind``'s contracts."""
    prefixes = CONTRACT_FILES[kind]
    return {
        path: text
        for path, text in rendered.items()
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in prefixes)
    }


def contracts_in(files: dict[str, str]) -> list[Contract]:
    """Every test function in the ``tests/test_*.py`` files among ``files``, in file order."""
    found: list[Contract] = []
    for path, text in sorted(files.items()):
        name = PurePosixPath(path).name
        if path.startswith("tests/") and name.startswith("test_") and name.endswith(".py"):
            found += _tests_of(path, ast.parse(text))
    return found


def _tests_of(path: str, module: ast.Module) -> list[Contract]:
    default = None
    for node in module.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            default = _surface_of([node.value])
    tests = []
    for node in module.body:
        if _is_test(node):
            tests.append(_contract(path, node.name, node, default))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            inherited = _surface_of(node.decorator_list) or default
            tests += [
                _contract(path, f"{node.name}::{item.name}", item, inherited)
                for item in node.body
                if _is_test(item)
            ]
    return tests


def _is_test(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def _contract(
    path: str, name: str, node: ast.FunctionDef | ast.AsyncFunctionDef, default: str | None
) -> Contract:
    surface = _surface_of(node.decorator_list) or default
    doc = ast.get_docstring(node) or ""
    summary = " ".join(doc.split("\n\n")[0].split()) or node.name.removeprefix("test_").replace(
        "_", " "
    )
    return Contract(path, name, surface, summary)


def _surface_of(expressions: list[ast.expr]) -> str | None:
    """The name in a ``pytest.mark.surface("...")`` among ``expressions`` (or in a list)."""
    for expression in expressions:
        items = expression.elts if isinstance(expression, ast.List | ast.Tuple) else [expression]
        for item in items:
            if (
                isinstance(item, ast.Call)
                and isinstance(item.func, ast.Attribute)
                and item.func.attr == "surface"
                and item.args
                and isinstance(item.args[0], ast.Constant)
                and isinstance(item.args[0].value, str)
            ):
                return item.args[0].value
    return None
