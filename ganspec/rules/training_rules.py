"""GS3xx: training stability. The silent failures that make a GAN not learn."""

from __future__ import annotations

from collections.abc import Iterator

from ganspec.image.context import (
    NETWORKS,
    ImageContext,
    first_weighted_layer,
    last_weighted_layer,
    output_layer,
)
from ganspec.rules.registry import Finding, rule
from ganspec.spec.image import PROBABILITY_LOSSES, Optimizer
from ganspec.spec.layers import op_of

ACTIVATION_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
GP_BETAS = ((0.0, 0.9), (0.5, 0.9))


def _optimizers(ctx: ImageContext) -> Iterator[tuple[str, Optimizer]]:
    for network in NETWORKS:
        yield network, getattr(ctx.spec.training.optimizers, network)


def _logits_fix(ctx: ImageContext) -> str:
    """From probabilities to logits takes two edits: output alone leaves the sigmoid (GS304)."""
    index, layer = output_layer(ctx.spec.discriminator.layers)
    where = f"discriminator.layers[{index}].act: none"
    if layer.act != "sigmoid":
        return "discriminator.output: logits"
    return f"remove the final sigmoid ({where}) and set discriminator.output: logits"


def _uses_gradient_penalty(ctx: ImageContext) -> bool:
    training = ctx.spec.training
    return (
        training.loss == "wgan-gp"
        or training.gradient_penalty is not None
        or training.r1 is not None
    )


@rule(
    "GS301",
    "output-activation-vs-range",
    "error",
    summary="The generator's final activation cannot produce data.range: tanh needs [-1, 1], "
    "sigmoid needs [0, 1].",
    why="A tanh generator fed [0, 1] data can never match half of its own output range; D "
    "separates real from fake by the sign alone and G never learns.",
    example="data: {range: [0, 1]}\ngenerator:\n  layers:\n    ...\n"
    "    - {conv_transpose: 3, kernel: 4, stride: 2, padding: 1, act: tanh}",
    fix="Normalise the data to the activation's range (range: [-1, 1] for tanh) or change the "
    "activation.",
)
def output_activation_matches_range(ctx: ImageContext) -> Iterator[Finding]:
    data_range = ctx.spec.data.range
    if data_range is None:
        return
    index, layer = output_layer(ctx.spec.generator.layers)
    produced = ACTIVATION_RANGES.get(layer.act)
    low, high = data_range
    if layer.act == "relu" and low < 0:
        produced = (0.0, float("inf"))
    if produced is None or produced == (low, high):
        return
    other = next((act for act, rng in ACTIVATION_RANGES.items() if rng == (low, high)), None)
    fix = f"range: [{produced[0]:g}, {produced[1]:g}]" if layer.act in ACTIVATION_RANGES else None
    if other:
        fix = (fix + " or " if fix else "") + f"act: {other}"
    yield Finding(
        ("generator", "layers", index, "act"),
        f"{layer.act} outputs ({produced[0]:g}, {produced[1]:g}) but data.range is "
        f"[{low:g}, {high:g}]",
        fix,
    )


@rule(
    "GS302",
    "adam-beta1-default",
    "warning",
    summary="Adam's beta1 is left at PyTorch's default 0.9 for BCE/non-saturating/least-squares "
    "training.",
    why="With beta1 0.9 the momentum lags the moving target the other network sets; DCGAN "
    "(Radford et al. 2016) found 0.5 necessary for stable training.",
    example="optimizers:\n  generator: {type: adam, lr: 2.0e-4}   # betas default (0.9, 0.999)",
    fix="betas: [0.5, 0.999].",
)
def adam_beta1(ctx: ImageContext) -> Iterator[Finding]:
    if ctx.spec.training.loss not in (*PROBABILITY_LOSSES, "lsgan"):
        return
    for network, optimizer in _optimizers(ctx):
        if optimizer.type in ("adam", "adamw") and optimizer.betas[0] >= 0.9:
            yield Finding(
                ("training", "optimizers", network, "betas"),
                f"{network} Adam beta1 is {optimizer.betas[0]:g}",
                f"betas: [0.5, {optimizer.betas[1]:g}]",
            )


@rule(
    "GS303",
    "learning-rate-high",
    "warning",
    summary="A learning rate at or above 1e-3.",
    why="GAN updates chase each other; at 1e-3 (Adam's default) D or G overshoots and "
    "training oscillates or collapses. Published recipes use 1e-4 to 4e-4.",
    example="optimizers:\n  discriminator: {type: adam, lr: 1.0e-3, betas: [0.5, 0.999]}",
    fix="lr: 2.0e-4 (DCGAN), 1.0e-4 (WGAN-GP), or 1e-4 for G / 4e-4 for D (TTUR).",
)
def learning_rate(ctx: ImageContext) -> Iterator[Finding]:
    for network, optimizer in _optimizers(ctx):
        if optimizer.lr >= 1e-3:
            yield Finding(
                ("training", "optimizers", network, "lr"),
                f"{network} learning rate {optimizer.lr:g} is at or above 1e-3",
                "lr: 2.0e-4",
            )


@rule(
    "GS304",
    "sigmoid-with-logits-loss",
    "error",
    summary="The discriminator ends in a sigmoid but its output is declared logits or critic, "
    "or a probability output is used with a loss that wants raw scores.",
    why="Sigmoid followed by BCEWithLogits squashes twice: gradients vanish and D(x) "
    "saturates near 0.73. Wasserstein, hinge and least-squares losses need unbounded scores.",
    example="discriminator:\n  output: logits\n  layers:\n    ...\n"
    "    - {conv: 1, kernel: 4, act: sigmoid}",
    fix="Drop the sigmoid (act: none) and keep output: logits; for WGAN/hinge use output: critic.",
)
def sigmoid_and_logits(ctx: ImageContext) -> Iterator[Finding]:
    disc = ctx.spec.discriminator
    index, layer = output_layer(disc.layers)
    loss = ctx.spec.training.loss
    if layer.act == "sigmoid" and disc.output != "probability":
        yield Finding(
            ("discriminator", "layers", index, "act"),
            f"the last activation is sigmoid but output is declared {disc.output}",
            "act: none",
        )
    elif disc.output == "probability" and loss not in PROBABILITY_LOSSES:
        yield Finding(
            ("discriminator", "output"),
            f"{loss} loss needs raw scores, but D outputs probabilities",
            "output: critic, and remove the final sigmoid",
        )


@rule(
    "GS305",
    "batchnorm-in-gp-critic",
    "warning",
    summary="BatchNorm in a critic trained with a gradient penalty.",
    why="The penalty constrains the gradient per sample; BatchNorm couples samples in a "
    "batch, so the penalised quantity is no longer the one the theory needs (Gulrajani et "
    "al. 2017).",
    example="training: {loss: wgan-gp}  # or r1: 10\ndiscriminator:\n  layers:\n"
    "    - {conv: 128, kernel: 4, stride: 2, padding: 1, norm: batch}",
    fix="norm: layer (or instance, or none).",
)
def batchnorm_in_critic(ctx: ImageContext) -> Iterator[Finding]:
    if not _uses_gradient_penalty(ctx):
        return
    for index, layer in enumerate(ctx.spec.discriminator.layers):
        if layer.norm == "batch":
            yield Finding(
                ("discriminator", "layers", index, "norm"),
                "BatchNorm in a gradient-penalty critic",
                "norm: layer",
            )


@rule(
    "GS306",
    "batchnorm-at-boundary",
    "warning",
    summary="BatchNorm on the generator's output layer or the discriminator's input layer.",
    why="DCGAN found that normalising these layers causes sample oscillation and instability: "
    "G's output must be free to match the data statistics, and D's first layer must see them "
    "unnormalised.",
    example="discriminator:\n  layers:\n    - {conv: 64, kernel: 4, stride: 2, padding: 1, "
    "norm: batch}",
    fix="norm: none on those two layers.",
)
def batchnorm_at_boundaries(ctx: ImageContext) -> Iterator[Finding]:
    last = last_weighted_layer(ctx.spec.generator.layers)
    if last and last[1].norm == "batch":
        yield Finding(
            ("generator", "layers", last[0], "norm"), "BatchNorm on G's output layer", "norm: none"
        )
    first = first_weighted_layer(ctx.spec.discriminator.layers)
    if first and first[1].norm == "batch":
        yield Finding(
            ("discriminator", "layers", first[0], "norm"),
            "BatchNorm on D's input layer",
            "norm: none",
        )


@rule(
    "GS307",
    "missing-dcgan-init",
    "warning",
    summary="A convolutional network trained with BCE/non-saturating loss has no weight init.",
    why="The DCGAN recipe initialises conv weights from N(0, 0.02) and BatchNorm weights from "
    "N(1, 0.02); PyTorch's default (Kaiming-uniform) init makes early D updates dominate.",
    example="generator:\n  latent_dim: 100\n  layers: [...]   # no init",
    fix="init: {scheme: normal, std: 0.02}.",
)
def dcgan_init(ctx: ImageContext) -> Iterator[Finding]:
    if ctx.spec.training.loss not in PROBABILITY_LOSSES:
        return
    for network in NETWORKS:
        net = getattr(ctx.spec, network)
        convolutional = any(op_of(x) in ("conv", "conv_transpose") for x in net.layers)
        if convolutional and net.init is None:
            yield Finding(
                (network,),
                f"{network} has conv layers but no init",
                "init: {scheme: normal, std: 0.02}",
            )


@rule(
    "GS308",
    "wgan-gp-critic-steps",
    "warning",
    summary="WGAN-GP with fewer than 5 critic steps per generator step.",
    why="The Wasserstein estimate is only meaningful near an optimal critic; the paper trains "
    "it 5 times per G step.",
    example="training: {loss: wgan-gp, d_steps_per_g_step: 1}",
    fix="d_steps_per_g_step: 5.",
)
def wgan_gp_steps(ctx: ImageContext) -> Iterator[Finding]:
    training = ctx.spec.training
    if training.loss == "wgan-gp" and training.d_steps_per_g_step < 5:
        yield Finding(
            ("training", "d_steps_per_g_step"),
            f"{training.d_steps_per_g_step} critic step(s) per G step",
            "d_steps_per_g_step: 5",
        )


@rule(
    "GS309",
    "wgan-gp-betas",
    "warning",
    summary="WGAN-GP with Adam betas other than (0, 0.9) or (0.5, 0.9).",
    why="The gradient penalty interacts badly with high momentum; the paper uses "
    "beta1 = 0, beta2 = 0.9 (0.5, 0.9 also works).",
    example="training:\n  loss: wgan-gp\n  optimizers:\n"
    "    discriminator: {type: adam, lr: 1.0e-4, betas: [0.5, 0.999]}",
    fix="betas: [0.0, 0.9].",
)
def wgan_gp_betas(ctx: ImageContext) -> Iterator[Finding]:
    if ctx.spec.training.loss != "wgan-gp":
        return
    for network, optimizer in _optimizers(ctx):
        if optimizer.type in ("adam", "adamw") and tuple(optimizer.betas) not in GP_BETAS:
            yield Finding(
                ("training", "optimizers", network, "betas"),
                f"{network} betas are ({optimizer.betas[0]:g}, {optimizer.betas[1]:g})",
                "betas: [0.0, 0.9]",
            )


@rule(
    "GS310",
    "penalty-and-clipping",
    "error",
    summary="Gradient penalty and weight clipping are both set.",
    why="They are two ways of enforcing the same Lipschitz constraint; clipping cripples the "
    "capacity the penalty is meant to keep (the reason WGAN-GP exists).",
    example="training: {loss: wgan-gp, gradient_penalty: 10, weight_clip: 0.01}",
    fix="Keep gradient_penalty and remove weight_clip.",
)
def penalty_and_clipping(ctx: ImageContext) -> Iterator[Finding]:
    training = ctx.spec.training
    if training.gradient_penalty is not None and training.weight_clip is not None:
        yield Finding(
            ("training", "weight_clip"),
            "weight_clip together with gradient_penalty",
            "remove weight_clip",
        )


@rule(
    "GS311",
    "lipschitz-without-wasserstein",
    "error",
    summary="Weight clipping or gradient penalty with a loss that is not the matching "
    "Wasserstein loss (clipping: wgan; penalty: wgan-gp).",
    why="The constraint only makes sense for a critic estimating the Wasserstein distance; "
    "on a BCE discriminator it silently fights the loss.",
    example="training: {loss: nonsaturating, gradient_penalty: 10}",
    fix="Use loss: wgan-gp with gradient_penalty (or wgan with weight_clip), or remove the "
    "constraint.",
)
def lipschitz_needs_wasserstein(ctx: ImageContext) -> Iterator[Finding]:
    training = ctx.spec.training
    if training.gradient_penalty is not None and training.loss != "wgan-gp":
        yield Finding(
            ("training", "gradient_penalty"),
            f"gradient_penalty with loss {training.loss}",
            "loss: wgan-gp, or remove gradient_penalty",
        )
    if training.weight_clip is not None and training.loss != "wgan":
        yield Finding(
            ("training", "weight_clip"),
            f"weight_clip with loss {training.loss}",
            "loss: wgan, or remove weight_clip",
        )


@rule(
    "GS312",
    "amp-with-probabilities",
    "error",
    summary="Mixed precision (amp) together with a probability output and BCE.",
    why="torch.autocast refuses binary_cross_entropy on probabilities because log(sigmoid) "
    "underflows in half precision; BCE-with-logits is the autocast-safe form.",
    example="discriminator: {output: probability}\ntraining: {loss: nonsaturating, amp: fp16}",
    fix="output: logits and drop the final sigmoid.",
)
def amp_with_probabilities(ctx: ImageContext) -> Iterator[Finding]:
    spec = ctx.spec
    if (
        spec.training.amp != "off"
        and spec.discriminator.output == "probability"
        and spec.training.loss in PROBABILITY_LOSSES
    ):
        yield Finding(
            ("training", "amp"),
            f"amp {spec.training.amp} with a probability output and {spec.training.loss}",
            _logits_fix(ctx),
        )


@rule(
    "GS313",
    "wasserstein-without-constraint",
    "error",
    summary="A Wasserstein loss without the Lipschitz constraint it needs: wgan-gp without "
    "gradient_penalty, wgan without weight_clip or spectral norm.",
    why="An unconstrained critic's scores grow without bound and the loss stops measuring "
    "anything.",
    example="training: {loss: wgan-gp}   # no gradient_penalty",
    fix="gradient_penalty: 10 (wgan-gp) or weight_clip: 0.01 (wgan).",
)
def wasserstein_constraint(ctx: ImageContext) -> Iterator[Finding]:
    training = ctx.spec.training
    if training.loss == "wgan-gp" and training.gradient_penalty is None:
        yield Finding(
            ("training", "loss"), "wgan-gp without gradient_penalty", "gradient_penalty: 10"
        )
    spectral = ctx.spec.discriminator.spectral_norm
    if training.loss == "wgan" and training.weight_clip is None and not spectral:
        yield Finding(
            ("training", "loss"),
            "wgan without weight_clip or spectral norm",
            "weight_clip: 0.01",
        )


@rule(
    "GS314",
    "probability-output",
    "warning",
    summary="The discriminator outputs probabilities (final sigmoid + BCELoss) instead of logits.",
    why="BCE on probabilities clamps log(0) and loses gradient once D is confident; "
    "BCE-with-logits computes the same loss stably.",
    example="discriminator:\n  output: probability\n  layers: [..., {conv: 1, kernel: 4, "
    "act: sigmoid}]",
    fix="Remove the final sigmoid (act: none on the last layer) and set output: logits; "
    "either change alone is a GS304 or GS316 error.",
)
def probability_output(ctx: ImageContext) -> Iterator[Finding]:
    spec = ctx.spec
    if spec.discriminator.output == "probability" and spec.training.loss in PROBABILITY_LOSSES:
        yield Finding(
            ("discriminator", "output"),
            "D outputs probabilities; logits are numerically safer",
            _logits_fix(ctx),
        )


@rule(
    "GS315",
    "label-smoothing-loss",
    "warning",
    summary="label_smoothing with a loss that has no labels (Wasserstein, hinge, least squares).",
    why="Smoothing applies to BCE targets; elsewhere it is silently ignored or changes the "
    "loss's margin.",
    example="training: {loss: hinge, label_smoothing: 0.1}",
    fix="Remove label_smoothing, or use loss: nonsaturating.",
)
def label_smoothing(ctx: ImageContext) -> Iterator[Finding]:
    training = ctx.spec.training
    if training.label_smoothing > 0 and training.loss not in PROBABILITY_LOSSES:
        yield Finding(
            ("training", "label_smoothing"),
            f"label_smoothing with loss {training.loss}",
            "label_smoothing: 0",
        )


@rule(
    "GS316",
    "probability-without-sigmoid",
    "error",
    summary="The discriminator is declared to output probabilities but does not end in a sigmoid.",
    why="BCELoss on unbounded scores raises (or NaNs) as soon as a score leaves [0, 1].",
    example="discriminator:\n  output: probability\n  layers: [..., {linear: 1}]",
    fix="output: logits (recommended), or act: sigmoid on the last layer.",
)
def probability_needs_sigmoid(ctx: ImageContext) -> Iterator[Finding]:
    disc = ctx.spec.discriminator
    _, layer = output_layer(disc.layers)
    if disc.output == "probability" and layer.act != "sigmoid":
        yield Finding(
            ("discriminator", "output"),
            f"output is probability but the last activation is {layer.act}",
            "output: logits",
        )


@rule(
    "GS317",
    "unbounded-image-output",
    "warning",
    summary="The generator's output is unbounded (no tanh/sigmoid) while image data lies in a "
    "fixed range.",
    why="G can produce values real images never take, which D spots trivially early on; tanh "
    "for [-1, 1] data is the standard choice.",
    example="data: {range: [-1, 1]}\ngenerator: {layers: [..., {conv_transpose: 3, kernel: 4}]}",
    fix="act: tanh on the last layer (for range [-1, 1]).",
)
def unbounded_output(ctx: ImageContext) -> Iterator[Finding]:
    spec = ctx.spec
    if not spec.data.shape.is_image or spec.data.range is None:
        return
    index, layer = output_layer(spec.generator.layers)
    if layer.act in ("none", "leaky_relu", "gelu", "silu", "elu"):
        yield Finding(
            ("generator", "layers", index, "act"),
            f"output activation {layer.act} is unbounded; data.range is "
            f"[{spec.data.range[0]:g}, {spec.data.range[1]:g}]",
            "act: tanh" if tuple(spec.data.range) == (-1.0, 1.0) else "act: sigmoid",
        )


@rule(
    "GS318",
    "lazy-r1-without-r1",
    "warning",
    summary="training.r1_every is set but there is no R1 penalty to apply lazily.",
    why="r1_every only spaces out the R1 penalty (training.r1); without it the setting does "
    "nothing, which usually means the penalty was meant to be on.",
    example="training:\n  loss: nonsaturating\n  r1_every: 16   # and no r1",
    fix="r1: 0.1 (or another gamma), or remove r1_every.",
)
def lazy_r1_needs_r1(ctx: ImageContext) -> Iterator[Finding]:
    training = ctx.spec.training
    if training.r1_every > 1 and training.r1 is None:
        yield Finding(
            ("training", "r1_every"),
            f"r1_every is {training.r1_every} but training.r1 is not set",
            "r1: 0.1",
        )


@rule(
    "GS319",
    "saturating-minimax-loss",
    "info",
    summary="loss: minimax trains G with the original saturating loss, log(1 - D(G(z))).",
    why="While D rejects the fakes, D(G(z)) is near 0 and log(1 - D(G(z))) is flat there: at "
    "D(G(z)) = 0.01 G's gradient (per unit of D's logit) is 0.01 against the non-saturating "
    "loss's 0.99, about 100x smaller. Code written with nn.BCELoss() and real labels for the "
    "fakes trains G non-saturating.",
    example="training: {loss: minimax}",
    fix="loss: nonsaturating (G minimises -log D(G(z))), unless the saturating game is the point.",
)
def saturating_minimax(ctx: ImageContext) -> Iterator[Finding]:
    if ctx.spec.training.loss == "minimax":
        yield Finding(
            ("training", "loss"),
            "minimax: G minimises log(1 - D(G(z))); at D(G(z)) = 0.01 its gradient is about "
            "100x smaller than the non-saturating loss's",
            "loss: nonsaturating",
        )


@rule(
    "GS320",
    "norm-after-output-activation",
    "error",
    summary="The network's last layer puts its norm after the activation (order: act_norm), so "
    "the norm, not the activation, makes the output.",
    why="A norm after tanh or sigmoid shifts and rescales the values the activation bounded: "
    "G's output leaves data.range, and D's scores stop meaning what output declares.",
    example="generator:\n  layers:\n    ...\n"
    "    - {conv_transpose: 3, kernel: 4, stride: 2, padding: 1, norm: batch, act: tanh, "
    "order: act_norm}",
    fix="order: norm_act on the output layer (or remove its norm).",
)
def norm_after_output_activation(ctx: ImageContext) -> Iterator[Finding]:
    for network in NETWORKS:
        index, layer = output_layer(getattr(ctx.spec, network).layers)
        if layer.order == "act_norm":
            yield Finding(
                (network, "layers", index, "order"),
                f"{layer.norm} norm after {layer.act} makes the {network}'s output; the "
                f"activation no longer bounds it",
                "order: norm_act",
            )
