"""Safe writes into the output folder: a manifest, a plan, atomic and confined writes.

The manifest (``.ganspec/manifest.json``) records the sha256 of every file as ganspec last
wrote it. Comparing it with what is on disk tells a file the user edited (left alone and
listed) from one ganspec may update, so re-rendering never silently loses a user's work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ganspec.render.confined import Folder, NotRegularFile, folder_of, kind_of, read_regular

MANIFEST = Path(".ganspec") / "manifest.json"
SPEC_COPY = Path(".ganspec") / "spec.yaml"  # the spec as rendered: `ganspec check DIR` reads it

CREATE, UPDATE, UNCHANGED, KEEP_CHANGED, KEEP_DELETED, KEEP_LINK, REMOVE, KEEP_OBSOLETE = (
    "create",
    "update",
    "unchanged",
    "left alone (changed by you)",
    "left alone (deleted by you)",
    "left alone (a symlink)",
    "remove (no longer rendered)",
    "left alone (no longer rendered, changed by you)",
)
KINDS = (CREATE, UPDATE, UNCHANGED, KEEP_CHANGED, KEEP_DELETED, KEEP_LINK, REMOVE, KEEP_OBSOLETE)
_PROTECTED_ROOTS = {".git", ".ganspec"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


class RenderRefused(Exception):
    """The output folder cannot be rendered into as asked (exit 1, nothing written)."""


class BadManifest(RenderRefused):
    """The folder's manifest is unreadable or lists paths ganspec never writes (exit 2)."""


def _clean_relative(path: str) -> bool:
    """A plain relative POSIX path (no '.', '..', absolute, protected parts or NUL byte)."""
    if "\0" in path:
        return False
    parts = PurePosixPath(path).parts
    return (
        bool(parts)
        and PurePosixPath(*parts).as_posix() == path
        and not path.startswith("/")
        and not {".", ".."} & set(parts)
        and parts[0] not in _PROTECTED_ROOTS
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    ganspec_version: str
    spec_sha256: str
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, out: Path) -> Manifest | None:
        path = out / MANIFEST
        if not path.is_file():
            return None
        corrupt = f"{path} is not a valid ganspec manifest; move it away or render elsewhere"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            files = {str(k): str(v) for k, v in raw["files"].items()}
            manifest = cls(str(raw["ganspec_version"]), str(raw["spec_sha256"]), files)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BadManifest(corrupt) from None
        bad = sorted(key for key in files if not _clean_relative(key))
        if bad:
            # A manifest drives deletions: only paths ganspec itself could have written count.
            raise BadManifest(f"{corrupt} (it lists paths ganspec never writes: {bad[0]!r})")
        if not all(_SHA256.fullmatch(value) for value in files.values()):
            raise BadManifest(f"{corrupt} (a file's hash is not a sha256)")
        return manifest

    def text(self) -> str:
        payload = {
            "ganspec_version": self.ganspec_version,
            "spec_sha256": self.spec_sha256,
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(payload, indent=2) + "\n"


@dataclass(frozen=True)
class Action:
    path: str
    kind: str


@dataclass
class Plan:
    out: Path
    actions: list[Action]
    files: dict[str, bytes]
    manifest: Manifest
    previous: Manifest | None = None
    spec_text: bytes | None = None  # written to SPEC_COPY beside the manifest

    def of(self, kind: str) -> list[str]:
        return [a.path for a in self.actions if a.kind == kind]

    def describe(self) -> str:
        lines = []
        for kind in KINDS:
            paths = self.of(kind)
            if paths:
                lines.append(f"{kind}: {len(paths)}")
                if kind != UNCHANGED:
                    lines += [f"  {p}" for p in paths]
        return "\n".join(lines)


def _inside(out: Path, relative: str) -> Path:
    """The target path, refusing anything that would land outside ``out`` (.., symlinks)."""
    root = out.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise RenderRefused(f"refusing to write {relative}: it resolves outside {out}")
    return target


def plan(
    out: Path,
    files: dict[str, bytes],
    spec_hash: str,
    version: str,
    *,
    force: bool = False,
    overwrite_changed: bool = False,
    spec: Path | None = None,
    spec_text: bytes | None = None,
) -> Plan:
    """Decide, for every rendered file, whether to create, update or leave it alone.

    ``spec``, the file rendered from, must not be one of them: rendered over, the user's spec
    is lost; left alone, the project reads the spec as its config.
    """
    if out.exists() and not out.is_dir():
        raise RenderRefused(f"{out} exists and is not a folder")
    previous = Manifest.read(out) if out.exists() else None
    if previous is None and out.exists() and any(out.iterdir()) and not force:
        raise RenderRefused(
            f"{out} is not empty and was not rendered by ganspec; pass --force to render into "
            "it (files already there are left alone unless --overwrite-changed)"
        )
    _inside(out, str(MANIFEST))
    _inside(out, str(SPEC_COPY))
    known = previous.files if previous else {}
    for relative in sorted({*files, *known}):
        if spec is not None and _same_file(out / relative, spec):
            raise RenderRefused(
                f"refusing to render: {out / relative} is the spec {spec} itself; render into "
                "another folder, or move the spec out of this one"
            )
    manifest = Manifest(version, spec_hash)
    actions: list[Action] = []
    for relative, content in sorted(files.items()):
        _writable_target(out, relative)
        new_hash = sha256(content)
        kind = _decide(out / relative, known.get(relative), new_hash, overwrite_changed)
        actions.append(Action(relative, kind))
        if kind in (CREATE, UPDATE, UNCHANGED):
            manifest.files[relative] = new_hash
        elif relative in known:
            manifest.files[relative] = known[relative]  # keeps protecting the user's version
    for relative, old_hash in sorted(known.items()):
        if relative in files:
            continue
        if _linked(out, relative):  # a link the user made is theirs, and is never followed
            actions.append(Action(relative, KEEP_LINK))
            continue
        try:  # a folder, FIFO or device there now is not what ganspec wrote: not touched
            current = read_regular(out / relative)
        except NotRegularFile:
            continue
        if current is None:
            continue
        if sha256(current) == old_hash:
            actions.append(Action(relative, REMOVE))
        else:
            actions.append(Action(relative, KEEP_OBSOLETE))
    return Plan(out, actions, files, manifest, previous, spec_text)


def _same_file(path: Path, other: Path) -> bool:
    try:
        return os.path.samefile(path, other)
    except (OSError, ValueError):
        return False


def _steps(out: Path, relative: str) -> list[Path]:
    """The folders from ``out`` (excluded) down to the target (excluded), in order."""
    return [out / parent for parent in reversed(PurePosixPath(relative).parents)][1:]


def _linked(out: Path, relative: str) -> bool:
    """Whether the path, or a folder on the way to it from ``out``, is a symlink."""
    return any(step.is_symlink() for step in [*_steps(out, relative), out / relative])


def _writable_target(out: Path, relative: str) -> None:
    """Refuse up front a target outside ``out``, a link on the way, or something in the way:
    a folder or a file where a folder goes, or a folder, FIFO, socket or device where a file
    goes (that is never opened: a FIFO would hold the render until something wrote to it)."""
    _inside(out, relative)
    for folder in _steps(out, relative):
        if folder.is_symlink():
            raise RenderRefused(
                f"refusing to write {relative}: {folder} is a symlink; ganspec never writes "
                "through one"
            )
        if folder.exists() and not folder.is_dir():
            raise RenderRefused(f"{folder} is a file; ganspec needs a folder there")
    target = out / relative
    with contextlib.suppress(FileNotFoundError):
        mode = target.lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):  # a link is left alone (KEEP_LINK)
            raise RenderRefused(
                f"{target} is {kind_of(mode)}; ganspec would write a file there (move it away)"
            )


def _decide(target: Path, known_hash: str | None, new_hash: str, overwrite: bool) -> str:
    """What to do with one rendered file, given the disk and the last manifest."""
    if target.is_symlink():
        return KEEP_LINK  # never write through a link, whatever it points at
    current = _current(target)
    if current is None:
        return CREATE if known_hash is None or overwrite else KEEP_DELETED
    current_hash = sha256(current)
    if current_hash == new_hash:
        return UNCHANGED
    if known_hash == current_hash or overwrite:
        return UPDATE
    return KEEP_CHANGED


def _current(target: Path) -> bytes | None:
    """The file's bytes, None when it is missing; something else put there since
    _writable_target looked is refused, never read."""
    try:
        return read_regular(target)
    except NotRegularFile as exc:
        raise RenderRefused(
            f"{target} is {exc.kind}; ganspec would write a file there (move it away)"
        ) from None


def _write(root: Folder, relative: str, content: bytes) -> None:
    with folder_of(root, relative, create=True) as folder:
        folder.replace(PurePosixPath(relative).name, content)


def _remove(root: Folder, relative: str) -> None:
    with folder_of(root, relative) as folder:
        folder.unlink(PurePosixPath(relative).name)


def apply(plan_: Plan) -> None:
    """Carry out a plan: every write is atomic and confined, the manifest is written last.

    The checks in :func:`plan` give clear refusals up front; the writes themselves go through
    descriptors of folders opened without following links (see :mod:`confined`), so a folder
    swapped for a symlink since then makes a write fail rather than land outside ``out``.
    If a write fails part-way, the manifest still records what was written (and what the
    previous manifest knew), so the next render recognises the folder as its own.
    """
    done = Manifest(plan_.manifest.ganspec_version, plan_.manifest.spec_sha256)
    done.files = dict(plan_.previous.files) if plan_.previous else {}
    manifest = MANIFEST.as_posix()
    with Folder.open(plan_.out) as root:
        try:
            for action in plan_.actions:
                if action.kind in (CREATE, UPDATE):
                    _write(root, action.path, plan_.files[action.path])
                    done.files[action.path] = plan_.manifest.files[action.path]
                elif action.kind == REMOVE:
                    _remove(root, action.path)
                    done.files.pop(action.path, None)
        except OSError:
            with contextlib.suppress(OSError):
                _write(root, manifest, done.text().encode("utf-8"))
            raise
        if plan_.spec_text is not None:  # ganspec's own file, like the manifest: not listed in it
            _write(root, SPEC_COPY.as_posix(), plan_.spec_text)
        _write(root, manifest, plan_.manifest.text().encode("utf-8"))
