"""The interface a spec's contract tests use, read from the render itself.

Everything the tests import or call from the project's own modules (``from models import
Generator``, ``train.build_gan(...)``), with the signature and first docstring paragraph of the
rendered definition, and the command-line flags of each script. PROMPT.md states it, so code
written by someone else can meet the same tests; ganspec's own render meets it by
construction, since the list is read from that render (``ast``, nothing imported).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ganspec.contracts import CONTRACT_FILES

VALUE_LIMIT = 60  # characters of a constant's value shown when the module itself ships
# Modules shipped with the contracts (contract.py): a long constant there is read in the file;
# one anywhere else is stated whole, since an implementer never sees that module.
SHIPPED_MODULES = {
    path[:-3] for paths in CONTRACT_FILES.values() for path in paths if path.endswith(".py")
}


@dataclass
class Entry:
    name: str
    signature: str  # ``build_gan(cfg: dict[str, Any], device: torch.device, ...) -> GAN``
    summary: str = ""
    replaced: bool = False  # a test swaps it on its module: the code must look it up there


@dataclass
class Module:
    name: str  # ``train`` for train.py
    entries: list[Entry] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # ``--max-steps``: when run as a script


def used_names(files: dict[str, str]) -> dict[str, set[str]]:
    """What the tests take from each project module (top-level ``*.py`` of the render)."""
    return _test_uses(files)[0]


def replaced_names(files: dict[str, str]) -> dict[str, set[str]]:
    """What the tests swap on a project module while they run (``monkeypatch.setattr(train,
    "generator_loss", ...)``, ``features.CACHE_DIR = ...``): code that looks such a name up
    anywhere but in that module's globals, at each use, never sees the swap."""
    return _test_uses(files)[1]


def _test_uses(files: dict[str, str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(used, replaced): one walk over each test file's syntax tree (a render reads both, and
    walking the trees was most of a render's time)."""
    modules = _project_modules(files)
    used: dict[str, set[str]] = {}
    replaced: dict[str, set[str]] = {}
    for path, text in files.items():
        if not (path.startswith("tests/") and path.endswith(".py")):
            continue
        nodes = list(ast.walk(ast.parse(text)))
        imported = {  # the project modules this file imports whole
            a.asname or a.name
            for node in nodes
            if isinstance(node, ast.Import)
            for a in node.names
            if a.name in modules
        }
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and node.module in modules and not node.level:
                used.setdefault(node.module, set()).update(a.name for a in node.names)
            elif attribute := _module_attribute(node, imported):
                used.setdefault(attribute[0], set()).add(attribute[1])
            elif patched := _patched(node, imported):  # the module must hold that name
                used.setdefault(patched[0], set()).add(patched[1])
                replaced.setdefault(patched[0], set()).add(patched[1])
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if attribute := _module_attribute(target, imported):
                        replaced.setdefault(attribute[0], set()).add(attribute[1])
        for name in imported:
            used.setdefault(name, set())
    return used, replaced


def _module_attribute(node: ast.AST, modules: set[str]) -> tuple[str, str] | None:
    """``train.build_gan``, a project module the file imports whole: (module, name)."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    ):
        return node.value.id, node.attr
    return None


def _project_modules(files: dict[str, str]) -> set[str]:
    return {path.removesuffix(".py") for path in files if _top_level_module(path)}


def _patched(node: ast.AST, modules: set[str]) -> tuple[str, str] | None:
    """``monkeypatch.setattr(train, "generator_loss", ...)``: (module, name)."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "setattr"
        and len(node.args) >= 2
    ):
        return None
    target, name = node.args[0], node.args[1]
    if isinstance(target, ast.Name) and target.id in modules and isinstance(name, ast.Constant):
        return target.id, str(name.value)
    return None


def interface_of(files: dict[str, str]) -> list[Module]:
    """The project modules the tests use, each with the definitions they use and its flags."""
    sources = {
        path.removesuffix(".py"): text for path, text in files.items() if _top_level_module(path)
    }
    trees = _Trees(sources)
    used, replaced = _test_uses(files)
    found = []
    for module, names in sorted(used.items()):
        entries = [e for name in sorted(names) if (e := _entry(trees, module, name)) is not None]
        for entry in entries:
            entry.replaced = entry.name in replaced.get(module, set())
        scripted = "add_argument" in sources[module]  # else no flags: spare the walk
        found.append(Module(module, entries, _flags(trees[module]) if scripted else []))
    return found


class _Trees:
    """The project modules' syntax trees, each parsed when first read: a render's interface
    reads a few of its fifteen modules, and parsing was a good part of a render's time."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources
        self.parsed: dict[str, ast.Module] = {}

    def __getitem__(self, module: str) -> ast.Module:
        if module not in self.parsed:
            self.parsed[module] = ast.parse(self.sources[module])
        return self.parsed[module]

    def __contains__(self, module: object) -> bool:
        return module in self.sources


def _top_level_module(path: str) -> bool:
    return "/" not in path and path.endswith(".py")


def _entry(trees: _Trees, module: str, name: str) -> Entry | None:
    """``name`` as ``module`` defines it, or as the module it imports it from defines it."""
    for node in trees[module].body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            return Entry(name, f"{name}({ast.unparse(node.args)}){returns}", _summary(node))
        if isinstance(node, ast.ClassDef) and node.name == name:
            return Entry(name, _class_signature(node), _summary(node))
        if isinstance(node, ast.Assign | ast.AnnAssign) and name in _targets(node):
            value = ast.unparse(node.value) if node.value else ""
            if len(value) > VALUE_LIMIT and module in SHIPPED_MODULES:
                value = f"{value[: VALUE_LIMIT - 3]}... (whole in {module}.py)"
            return Entry(name, f"{name} = {value}")
        if _imports(node, trees, name):
            return _entry(trees, node.module, name)
        if _binds_outside_import(node, trees, name):
            return None  # a library the module imports, which a test patches: not interface
    return Entry(name, name)


def _binds_outside_import(node: ast.stmt, trees: _Trees, name: str) -> bool:
    """Whether ``node`` binds ``name`` to something imported from outside the project."""
    if isinstance(node, ast.Import):
        return any((a.asname or a.name.split(".")[0]) == name for a in node.names)
    return (
        isinstance(node, ast.ImportFrom)
        and (node.module not in trees or bool(node.level))
        and any((a.asname or a.name) == name for a in node.names)
    )


def _imports(node: ast.stmt, trees: _Trees, name: str) -> bool:
    """Whether ``node`` imports ``name`` from another project module."""
    return (
        isinstance(node, ast.ImportFrom)
        and node.module in trees
        and not node.level
        and any((a.asname or a.name) == name for a in node.names)
    )


def _targets(node: ast.Assign | ast.AnnAssign) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _class_signature(node: ast.ClassDef) -> str:
    """A dataclass as its fields, another class as its constructor (or its bases)."""
    bases = ", ".join(ast.unparse(b) for b in node.bases)
    fields = [
        ast.unparse(item)
        for item in node.body
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
    ]
    init = next(
        (i for i in node.body if isinstance(i, ast.FunctionDef) and i.name == "__init__"), None
    )
    if init is not None:
        arguments = ast.unparse(init.args).removeprefix("self, ").removeprefix("self")
        return f"class {node.name}({arguments})" + (f"  # a {bases}" if bases else "")
    if fields:
        return f"class {node.name}({', '.join(fields)})"
    return f"class {node.name}({bases})"


def _summary(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """The docstring's first paragraph, whole: a cut-off one leaves out the detail an
    implementer needs (the agent experiments guessed exactly there)."""
    return " ".join((ast.get_docstring(node) or "").split("\n\n")[0].split())


def _flags(tree: ast.Module) -> list[str]:
    """``--flag`` options the module's argparse parser declares (a script's command line)."""
    flags = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("--")
        ):
            flags.append(str(node.args[0].value))
    return flags
