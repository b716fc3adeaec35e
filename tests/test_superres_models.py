"""The rendered superres models.py, the same for every spec and tested once here on one render
(tests/superres_project.py): the networks match the Real-ESRGAN releases: same parameter
counts, same state-dict keys, same output sizes, and the released file format loads strictly
with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tests.superres_project import modules

models, weights = modules("models", "weights")

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")

# Counts of the released .pth files (sum of numel over params_ema, or params where a file has
# only that).
RELEASE_PARAMS = {
    "RealESRGAN_x4plus": 16_697_987,
    "RealESRGAN_x4plus_anime_6B": 4_467_779,
    "realesr-general-x4v3": 1_213_296,
    "realesr-general-wdn-x4v3": 1_213_296,
    # x4plus plus conv_first's 9 extra input channels (pixel_unshuffle by 2): 9 * 64 * 3 * 3,
    # = 16,703,171, the count public reports give for RealESRGAN_x2plus.pth (702 tensors).
    "RealESRGAN_x2plus": 16_697_987 + 9 * 64 * 9,
}
SCALES = {
    "RealESRGAN_x4plus": 4,
    "RealESRGAN_x4plus_anime_6B": 4,
    "realesr-general-x4v3": 4,
    "realesr-general-wdn-x4v3": 4,
    "RealESRGAN_x2plus": 2,
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_the_table_lists_exactly_the_known_releases() -> None:
    """MODELS names the five released models and nothing else."""
    assert set(models.MODELS) == set(RELEASE_PARAMS)


@pytest.mark.parametrize("name", sorted(RELEASE_PARAMS))
def test_parameter_count_equals_the_release(name: str) -> None:
    """Each model has exactly as many parameters as its released weights file."""
    assert n_params(models.build(name)) == RELEASE_PARAMS[name]


@pytest.mark.parametrize("name", sorted(SCALES))
@torch.no_grad()
def test_output_is_the_input_enlarged_by_the_scale(name: str) -> None:
    """A (1, 3, 8, 8) input comes out as (1, 3, 8 * scale, 8 * scale)."""
    torch.manual_seed(0)
    model = models.build(name).eval()
    assert models.scale_of(model) == SCALES[name]
    s = SCALES[name]
    out = model(torch.rand(1, 3, 8, 8))
    assert out.shape == (1, 3, 8 * s, 8 * s)
    assert torch.isfinite(out).all()


@torch.no_grad()
def test_rrdbnet_scale_1_keeps_the_size() -> None:
    """RRDBNet with scale 1 (pixel_unshuffle by 4 first) returns the input size."""
    model = models.RRDBNet(num_block=1, scale=1).eval()
    assert model.conv_first.in_channels == 3 * 16
    assert model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_pixel_unshuffle_orders_channels_like_basicsr() -> None:
    """torch's pixel_unshuffle gives the channel order of basicsr's own, which x2plus expects."""
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    b, c, h, w, r = 2, 3, 4, 6, 2
    basicsr = (
        x.view(b, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4).reshape(b, c * r * r, 2, 3)
    )
    assert torch.equal(F.pixel_unshuffle(x, r), basicsr)


@pytest.mark.parametrize("name", ["RealESRGAN_x4plus_anime_6B", "realesr-general-x4v3"])
@pytest.mark.parametrize("key", ["params_ema", "params"])
@torch.no_grad()
def test_release_format_round_trips_strictly(name: str, key: str, tmp_path: Path) -> None:
    """A state dict saved as {key: sd} loads with weights_only=True and strict=True, unchanged."""
    torch.manual_seed(0)
    source = models.build(name)
    path = tmp_path / f"{name}.pth"
    torch.save({key: source.state_dict()}, path)

    loaded = models.build(name)
    loaded.load_state_dict(weights.read_state(path), strict=True)  # params_ema, else params
    for k, v in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k

    # The same file also loads by hand, the way a user of upstream code would.
    raw = torch.load(path, map_location="cpu", weights_only=True)
    models.build(name).load_state_dict(raw[key], strict=True)


@torch.no_grad()
def test_zeroed_compact_net_is_nearest_neighbour_x4() -> None:
    """SRVGGNetCompact with every weight (PReLU slopes too) zero returns nearest x4 exactly."""
    model = models.build("realesr-general-x4v3").eval()
    for p in model.parameters():
        p.zero_()
    x = torch.rand(1, 3, 5, 7)
    expected = x.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    assert torch.equal(model(x), expected)


def test_rrdbnet_keys_use_upstream_names() -> None:
    """RRDBNet's state dict is keyed like basicsr's (conv_first, body.i.rdbj.convk, conv_hr)."""
    keys = set(models.build("RealESRGAN_x4plus").state_dict())
    for key in [
        "conv_first.weight",
        "body.0.rdb1.conv1.weight",
        "body.22.rdb3.conv5.bias",
        "conv_body.weight",
        "conv_up1.weight",
        "conv_up2.bias",
        "conv_hr.bias",
        "conv_last.weight",
    ]:
        assert key in keys, key
    assert "body.23.rdb1.conv1.weight" not in keys
    assert len(keys) == 2 * (23 * 3 * 5 + 6)  # weight and bias of every conv, nothing else


def test_compact_keys_use_upstream_names() -> None:
    """general-x4v3 is keyed body.0 conv, body.1 PReLU, ..., body.66 the last conv."""
    state = models.build("realesr-general-x4v3").state_dict()
    assert state["body.0.weight"].shape == (64, 3, 3, 3)
    assert state["body.1.weight"].shape == (64,)  # PReLU, one slope per channel
    assert state["body.65.weight"].shape == (64,)
    assert state["body.66.weight"].shape == (48, 64, 3, 3)  # 3 * 4 * 4 output channels
    assert "body.66.bias" in state
    assert "body.67.weight" not in state
    assert len(state) == 2 * 34 + 33  # 34 convs (weight, bias), 33 PReLUs (weight)
