"""What every superres rule receives: the spec, its folder, and each weights file looked at once."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ganspec.spec.superres import PathSource, SuperresSpec
from ganspec.superres.releases import RELEASES, WEAK_DENOISE, Release

CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightsFinding:
    """A weights file as found on disk: absent, or what its size and hash say."""

    release: Release
    spec_path: str  # as the spec wrote it (or the default)
    path: Path  # resolved against the spec's folder
    exists: bool
    problem: str | None  # why it is not the release file; None when it is (or is absent)


def check_weights(release: Release, spec_path: str, folder: Path) -> WeightsFinding:
    """Size first (free), then the sha256 (a 67 MB file hashes in a fraction of a second)."""
    path = (folder / spec_path).resolve()
    try:
        if not path.exists():
            return WeightsFinding(release, spec_path, path, False, None)
        if not path.is_file():
            return WeightsFinding(release, spec_path, path, True, "is not a file")
        size = path.stat().st_size
        if size < release.size:
            problem = f"is truncated: {size:,} of {release.size:,} bytes"
        elif size != release.size:
            problem = f"has {size:,} bytes, the release file {release.size:,}"
        elif (digest := _sha256(path)) != release.sha256:
            problem = f"has sha256 {digest[:16]}..., the release file {release.sha256[:16]}..."
        else:
            problem = None
    except OSError as error:  # a folder or file this user may not read
        problem = f"cannot be read ({error.strerror or error})"
    return WeightsFinding(release, spec_path, path, True, problem)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def physical_memory() -> int | None:
    """This machine's RAM in bytes, where the OS says (Linux, macOS); None elsewhere."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool | None:
    """Whether this CPU has native bf16 (the avx512_bf16 or amx_bf16 flag, as Linux lists
    them); None where the OS does not say."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"}) if flags else None


@dataclass
class SuperresContext:
    spec: SuperresSpec
    folder: Path  # the spec file's folder: relative weights and input paths start there

    @property
    def release(self) -> Release:
        return RELEASES[self.spec.model.name]

    @property
    def scale(self) -> int:
        return self.release.scale

    @property
    def outscale(self) -> float:
        return self.spec.inference.outscale or float(self.scale)

    @cached_property
    def weights(self) -> WeightsFinding:
        return check_weights(self.release, self.spec.model.weights_path, self.folder)

    @cached_property
    def weak_denoise(self) -> WeightsFinding | None:
        """The weak-denoise file, read only when the spec blends it in."""
        if self.spec.model.denoise_strength is None or self.release.name != "realesr-general-x4v3":
            return None
        return check_weights(WEAK_DENOISE, self.spec.model.weak_denoise_path, self.folder)

    @property
    def input_path(self) -> Path | None:
        source = self.spec.input.source
        if isinstance(source, PathSource):
            return (self.folder / source.path).resolve()
        return None

    def unlisted(self) -> Counter[str]:
        return Counter()
