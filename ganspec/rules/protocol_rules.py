"""GS5xx: the validation protocol. The signals that prove a GAN learned."""

from __future__ import annotations

from collections.abc import Iterator

from ganspec.image.context import ImageContext
from ganspec.rules.registry import Finding, rule


@rule(
    "GS501",
    "no-checkpoints",
    "warning",
    summary="No checkpoint interval: training.checkpoint_every is not set.",
    why="GANs diverge late and suddenly; without checkpoints the last good generator is lost "
    "and a crashed run cannot resume.",
    example="training:\n  epochs: 25   # no checkpoint_every",
    fix="checkpoint_every: 1.",
)
def checkpoints(ctx: ImageContext) -> Iterator[Finding]:
    if ctx.spec.training.checkpoint_every is None:
        yield Finding(("training",), "no checkpoint interval", "checkpoint_every: 1")


@rule(
    "GS502",
    "no-nan-policy",
    "warning",
    summary="No NaN policy (validation.on_nan missing or `continue`).",
    why="A NaN loss poisons both networks' weights within one step; without a policy "
    "training keeps running on garbage and overwrites the good checkpoints.",
    example="validation:\n  sample_grid_every: 1   # no on_nan",
    fix="on_nan: stop_and_save_last_good.",
)
def nan_policy(ctx: ImageContext) -> Iterator[Finding]:
    on_nan = ctx.spec.validation.on_nan
    if on_nan in (None, "continue"):
        path = ("validation", "on_nan") if on_nan else ("validation",)
        yield Finding(
            path, f"NaN policy is {on_nan or 'missing'}", "on_nan: stop_and_save_last_good"
        )


@rule(
    "GS503",
    "fid-too-few-samples",
    "warning",
    summary="FID with 2048-d Inception features on fewer than 2048 samples.",
    why="The 2048x2048 covariance is rank-deficient below 2048 samples; the score is biased "
    "upwards and not comparable with published numbers.",
    example="validation:\n  fid: {every: 5, samples: 500, features: inception}",
    fix="samples: 10000 (or at least 2048), or dims: 64/192/768 for small sample counts.",
)
def fid_samples(ctx: ImageContext) -> Iterator[Finding]:
    fid = ctx.spec.validation.fid
    if fid and fid.features == "inception" and fid.dims == 2048 and fid.samples < 2048:
        yield Finding(
            ("validation", "fid", "samples"),
            f"{fid.samples} samples for 2048-d features",
            "samples: 2048 (10000 to compare with papers)",
        )


@rule(
    "GS504",
    "d-fake-band-invalid",
    "error",
    summary="The healthy D(fake) band lies outside (0, 1) or is inverted.",
    why="D(fake) is a mean probability; a band outside (0, 1) or with low >= high can never "
    "be met, so every run would be reported unhealthy.",
    example="validation:\n  d_fake_healthy: [0.7, 0.3]",
    fix="d_fake_healthy: [0.3, 0.7] (low < high, both inside (0, 1)).",
)
def d_fake_band(ctx: ImageContext) -> Iterator[Finding]:
    band = ctx.spec.validation.d_fake_healthy
    if band is None:
        return
    low, high = band
    if not (0 < low < high < 1):
        yield Finding(
            ("validation", "d_fake_healthy"),
            f"band [{low:g}, {high:g}] must satisfy 0 < low < high < 1",
            "d_fake_healthy: [0.3, 0.7]",
        )


@rule(
    "GS505",
    "d-fake-band-on-critic",
    "warning",
    summary="A healthy D(fake) probability band on a critic (Wasserstein/hinge) output.",
    why="Critic scores are unbounded, not probabilities; the band would be compared with the "
    "wrong quantity.",
    example="discriminator: {output: critic}\nvalidation: {d_fake_healthy: [0.3, 0.7]}",
    fix="Remove d_fake_healthy; track the critic's Wasserstein estimate in the logs instead.",
)
def band_on_critic(ctx: ImageContext) -> Iterator[Finding]:
    spec = ctx.spec
    if spec.validation.d_fake_healthy is not None and spec.discriminator.output == "critic":
        yield Finding(
            ("validation", "d_fake_healthy"),
            "D(fake) band on a critic output",
            "remove d_fake_healthy",
        )


@rule(
    "GS506",
    "interval-longer-than-training",
    "warning",
    summary="A sample-grid, checkpoint or FID interval is longer than the whole training run.",
    why="The protocol step never happens, so the run finishes with no samples, no checkpoint "
    "or no score.",
    example="training: {epochs: 5, checkpoint_every: 10}",
    fix="Make the interval at most training.epochs.",
)
def intervals(ctx: ImageContext) -> Iterator[Finding]:
    epochs = ctx.spec.training.epochs
    fid = ctx.spec.validation.fid
    candidates = [
        (("validation", "sample_grid_every"), ctx.spec.validation.sample_grid_every),
        (("training", "checkpoint_every"), ctx.spec.training.checkpoint_every),
        (("validation", "fid", "every"), fid.every if fid else None),
    ]
    for path, every in candidates:
        if every is not None and every > epochs:
            yield Finding(
                path, f"every {every} epochs, but training runs {epochs}", f"{path[-1]}: {epochs}"
            )


@rule(
    "GS507",
    "d-outputs-not-logged",
    "warning",
    summary="The protocol does not log D(real) and D(fake).",
    why="Loss values alone say little in a GAN; D(real) and D(fake) show which network is "
    "winning and catch a collapsed or overpowered discriminator early.",
    example="validation:\n  log: [loss_g, loss_d]",
    fix="log: [loss_g, loss_d, d_real, d_fake].",
)
def d_outputs_logged(ctx: ImageContext) -> Iterator[Finding]:
    missing = [name for name in ("d_real", "d_fake") if name not in ctx.spec.validation.log]
    if missing:
        yield Finding(
            ("validation", "log"),
            f"{' and '.join(missing)} not logged",
            "log: [loss_g, loss_d, d_real, d_fake]",
        )
