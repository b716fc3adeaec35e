"""What the rendered ``train.py`` holds for one spec: only the optimizers, learning-rate
schedule, EMA, instance noise, D-step grouping, health warning and NaN policy the spec
selects. Decided here, at render time, so ``templates/image/project/train.py.j2`` lays out
ready lines and the project's loop has no branch on a feature the spec does not use."""

from __future__ import annotations

from typing import Any

from ganspec.spec.image import ImageSpec

OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD"}
# The share of the configured rate at ``done`` (0 to 1) of the run, and how to say it.
SCHEDULES = {
    "linear": ("1.0 - done", "falls linearly to 0 at the run's last step"),
    "cosine": (
        "0.5 * (1.0 + math.cos(math.pi * done))",
        "falls to 0 at the run's last step along a half cosine",
    ),
}


def _optimizer_call(kind: str) -> str:
    """The constructor for one optimizer type; Adam(W) uses PyTorch's fused kernel."""
    if kind in ("adam", "adamw"):
        options = "betas=betas, weight_decay=decay, fused=fused"
    else:
        options = 'momentum=spec["momentum"], weight_decay=decay'
    return f"torch.optim.{OPTIMIZERS[kind]}(params, lr=lr, {options})"


def _optimizer_lines(kinds: list[str]) -> list[str]:
    """The body of ``make_optimizer``: one return per type the spec uses, the last
    unconditional (config.yaml's types are the spec's)."""
    if any(kind in ("adam", "adamw") for kind in kinds):
        lines = [
            'lr, betas, decay = spec["lr"], tuple(spec["betas"]), spec["weight_decay"]',
            'fused = device is not None and device.type in ("cpu", "cuda")',
        ]
    else:
        lines = ['lr, decay = spec["lr"], spec["weight_decay"]']
    for kind in kinds[:-1]:
        lines += [f'if spec["type"] == {kind!r}:', f"    return {_optimizer_call(kind)}"]
    lines.append(f"return {_optimizer_call(kinds[-1])}")
    return lines


def training_context(spec: ImageSpec) -> dict[str, Any]:
    training, validation = spec.training, spec.validation
    optimizers = training.optimizers
    kinds = sorted({optimizers.generator.type, optimizers.discriminator.type})
    schedule = training.lr_schedule
    formula, curve = SCHEDULES.get(schedule, ("", ""))
    return {
        "training": {
            "optimizer_names": " or ".join(OPTIMIZERS[kind] for kind in kinds),
            "optimizer_lines": _optimizer_lines(kinds),
            # the Adam type (adam or adamw) the spec uses, if any: its kernel is fused
            "adam": next((kind for kind in kinds if kind in ("adam", "adamw")), None),
            "schedule": schedule != "constant",
            "schedule_formula": formula,
            "schedule_curve": curve,
            "ema": training.ema is not None,
            "amp": training.amp != "off",
            # BatchNorm mixes a batch's samples: D then scores real and fake batches apart
            "d_batch_norm": any(layer.norm == "batch" for layer in spec.discriminator.layers),
            "instance_noise": training.instance_noise is not None,
            "d_steps": training.d_steps_per_g_step,
            "healthy_band": validation.d_fake_healthy is not None
            and spec.discriminator.output != "critic",
            "on_nan": validation.on_nan or "stop_and_save_last_good",
        }
    }
