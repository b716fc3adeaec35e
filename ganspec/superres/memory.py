"""How much memory one tile takes on the device, in pure Python (validate imports no torch).

The counts below are the tensors alive at the widest point; what a forward actually holds is
more (the allocator's slack, channels_last copies, the padded input): measured peak feature-map
memory (VmHWM, CPU) was 1.23-1.30x the bare count for anime_6B at 48-96 px tiles and 1.66x for
x2plus at 96 px, so RRDBNet's count is scaled by ``RRDB_MEASURED``; SRVGGNetCompact's bare
count was already 1.5x what it measured (0.66x) and stands. Tiles under ~64 px run above the
estimate: fixed costs of a few tens of MB dominate there.

Inference keeps no activations for backward, so the peak is the few feature maps alive at the
widest point of the network plus the weights:
- RRDBNet: the x4 tail. ``conv_hr`` reads a 64-channel map at 4x the trunk's side and writes
  another, so about 2 x 64 x 16 values per trunk pixel are alive; the trunk itself peaks lower
  (a dense block holds its input, four 32-channel outputs and a 192-channel concatenation).
  RealESRGAN_x2plus's trunk runs on a quarter of the pixels (pixel_unshuffle by 2).
- SRVGGNetCompact: a conv's 64-channel input and output at the input's size, then the 48
  channels the last conv writes and the nearest-upsampled input added to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganspec.superres.releases import Release

BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}
RRDB_MEASURED = 1.7  # measured / counted, rounded up (see the module docstring)
# Values alive at the peak per input pixel (see the module docstring).
_RRDB_TAIL = 2 * 64 * 16 + 3 * 16  # two 64-channel maps at 4x the trunk's side, and the output
_RRDB_TRUNK = 64 + 64 + 4 * 32 + 192  # trunk input, block input, x1..x4, the widest cat
_SRVGG = 2 * 64 + 2 * 48 + 3


@dataclass(frozen=True)
class TileMemory:
    side: int  # input pixels per side the network sees: tile + 2 * tile_pad
    activations: int  # bytes
    weights: int  # bytes

    @property
    def total(self) -> int:
        return self.activations + self.weights


def values_per_pixel(release: Release) -> float:
    """Values alive at the peak per input pixel."""
    if release.arch == "SRVGGNetCompact":
        return _SRVGG
    trunk_share = (release.scale / 4) ** 2  # x2: the trunk sees a quarter of the pixels
    return max(_RRDB_TAIL, _RRDB_TRUNK) * trunk_share * RRDB_MEASURED


def tile_memory(release: Release, side: int, precision: str) -> TileMemory:
    """Peak memory of one forward pass over a ``side`` x ``side`` input."""
    size = BYTES[precision]
    activations = int(values_per_pixel(release) * side * side * size)
    return TileMemory(side, activations, release.params * size)


def megapixel_memory(release: Release, precision: str) -> int:
    """Bytes one untiled forward pass takes per megapixel of input."""
    return int(values_per_pixel(release) * 1_000_000 * BYTES[precision])
