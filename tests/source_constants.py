"""Module-level constants of rendered Python, read without importing the module (it may need
libraries, files or a working folder the test does not set up)."""

from __future__ import annotations

import ast
from typing import Any


def module_constants(source: str, names: set[str]) -> dict[str, Any]:
    """The values of the ``NAME = expression`` assignments named, which must all be there;
    an expression may use literals, operators and ``slice`` only."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in names:
                code = compile(ast.Expression(node.value), "<module constants>", "eval")
                found[target.id] = eval(code, {"__builtins__": {}, "slice": slice})
    assert set(found) == names, f"not assigned at module level: {sorted(names - set(found))}"
    return found
