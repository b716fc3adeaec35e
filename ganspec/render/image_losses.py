"""What the rendered ``losses.py`` holds for one spec: its loss written out for D's output, only
the penalty it uses, and how D's scores are logged. Decided here, at render time, so the
project's code has no branch on the loss kind and ``templates/image/project/losses.py.j2``
only lays out the lines and docstrings this module hands it."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from ganspec.spec.image import PROBABILITY_LOSSES, ImageSpec

# loss -> (what D minimises, what G minimises), in the notation PROMPT.md and losses.py use.
# A penalty or weight clipping is not part of the loss: each is said where the spec sets it.
LOSS_FORMULAS: dict[str, tuple[str, str]] = {
    "minimax": (
        "BCE(D(x), 1) + BCE(D(G(z)), 0)",
        "-BCE(D(G(z)), 0), i.e. minimise log(1 - D(G(z)))",
    ),
    "nonsaturating": (
        "BCE(D(x), 1) + BCE(D(G(z)), 0)",
        "BCE(D(G(z)), 1), i.e. minimise -log D(G(z))",
    ),
    "wgan": ("mean(D(G(z))) - mean(D(x))", "-mean(D(G(z)))"),
    "wgan-gp": ("mean(D(G(z))) - mean(D(x))", "-mean(D(G(z)))"),
    "hinge": ("mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))", "-mean(D(G(z)))"),
    "lsgan": ("0.5 * mean((D(x) - 1)^2) + 0.5 * mean(D(G(z))^2)", "0.5 * mean((D(G(z)) - 1)^2)"),
}
# What PROMPT.md adds to G's formula: the two BCE losses are easy to mix up.
PROMPT_G_NOTES = {
    "minimax": "the original, saturating minimax: its gradient vanishes while D rejects the "
    "fakes; code written with nn.BCELoss() trains G with `nonsaturating` instead",
    "nonsaturating": "non-saturating, what code written with nn.BCELoss() and real labels for "
    "the fakes does; `minimax` is the saturating original, log(1 - D(G(z)))",
}
GRADIENT_PENALTY = (
    "lambda * mean((||grad D(x_hat)||_2 - 1)^2), x_hat on random interpolates of real and fake"
)
# Losses with a real label for one-sided smoothing to lower (elsewhere GS315 warns it is ignored).
LABELLED_LOSSES = PROBABILITY_LOSSES | {"lsgan"}
WIDTH = 92  # docstring text width: 100 columns less the indentation and quotes
_NBSP = "\N{NO-BREAK SPACE}"  # a space _doc does not break a line at
_OPERATOR = re.compile(r" ([-+*/=]) ")

_OUTPUT_NOTE = {
    "logits": "BCE with logits: the sigmoid sits inside the loss, computed stably.",
    "probability": "Plain BCE on D's probabilities: it clamps log(0) once D is sure and loses "
    "the gradient there (GS314).",
    "critic": "D's unbounded scores are read as logits.",
}
_SMOOTHING_NOTE = (
    "One-sided label smoothing (Salimans et al. 2016): the real target is 1 - label_smoothing, "
    "fakes keep 0."
)
_D_WHY = {
    "minimax": "D learns to score real samples 1 and G's samples 0.",
    "nonsaturating": "D learns to score real samples 1 and G's samples 0.",
    "wgan": "the critic's Wasserstein-1 estimate, negated (Arjovsky et al. 2017); a distance "
    "only while D is 1-Lipschitz: {constraint}.",
    "wgan-gp": "the critic's Wasserstein-1 estimate, negated; train.py adds "
    "``gradient_penalty`` to keep D 1-Lipschitz (Gulrajani et al. 2017).",
    "hinge": "real scores above 1 and fakes below -1, no further (Lim & Ye 2017; SNGAN).",
    "lsgan": "least squares towards the labels 1 and 0 (Mao et al. 2017).",
}
_G_WHY = {
    "minimax": "The saturating original (Goodfellow et al. 2014): at D(G(z)) = 0.01 its "
    "gradient is 100x smaller than the non-saturating loss's.",
    "nonsaturating": "At D(G(z)) = 0.01 its gradient is 100x the saturating minimax one's.",
    "wgan": "G raises the critic's score of its samples.",
    "wgan-gp": "G raises the critic's score of its samples.",
    "hinge": "G raises D's score of its samples (the margin is D's only).",
    "lsgan": "Least squares towards the real label.",
}
_SCORES = {"logits": "logits", "probability": "probabilities", "critic": "critic scores"}
_SUMMARY = {
    "logits": (
        "the mean sigmoid of D's logits",
        "torch.sigmoid(scores.detach().float()).mean().item()",
    ),
    "probability": (
        "the mean probability D assigns",
        "scores.detach().float().mean().item()",
    ),
    "critic": (
        "the critic's mean raw score (not a probability)",
        "scores.detach().float().mean().item()",
    ),
}


def _doc(*paragraphs: str) -> str:
    """Paragraphs wrapped for a docstring indented by four spaces (the template indents); a
    line never breaks beside an operator (``1 - D(G(z))``, ``D(G(z)) = 0.01``)."""
    joined = (_OPERATOR.sub(rf"{_NBSP}\1{_NBSP}", text) for text in paragraphs if text)
    wrapped = (textwrap.fill(text, WIDTH, break_on_hyphens=False) for text in joined)
    return "\n\n".join(wrapped).replace(_NBSP, " ")


def _formula(text: str) -> str:
    """A formula that ``_doc`` keeps on one line."""
    return text.replace(" ", _NBSP)


def _wgan_constraint(spec: ImageSpec) -> str:
    parts = []
    if spec.training.weight_clip is not None:
        parts.append("train.py clips every D weight to [-weight_clip, weight_clip] after its step")
    if spec.discriminator.spectral_norm:
        parts.append("spectral normalisation of D's layers bounds it")
    return " and ".join(parts)


def _discriminator_lines(loss: str, bce: str, smoothing: bool) -> list[str]:
    """The body of ``discriminator_loss``: real scores towards the real target, fakes away."""
    real_label = "1.0 - label_smoothing" if smoothing else "1.0"
    scores = "real, fake = real_scores.float(), fake_scores.float()"
    if loss in PROBABILITY_LOSSES:
        target = f"torch.full_like(real, {real_label})" if smoothing else "torch.ones_like(real)"
        return [
            scores,
            f"real_loss = {bce}(real, {target})",
            f"fake_loss = {bce}(fake, torch.zeros_like(fake))",
            "return real_loss + fake_loss",
        ]
    if loss in ("wgan", "wgan-gp"):
        return ["return fake_scores.float().mean() - real_scores.float().mean()"]
    if loss == "hinge":
        return [scores, "return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()"]
    real_label = f"({real_label})" if smoothing else real_label
    return [scores, f"return 0.5 * ((real - {real_label}) ** 2).mean() + 0.5 * (fake**2).mean()"]


def _generator_line(loss: str, bce: str) -> str:
    """The return line of ``generator_loss``, from D's scores of G's samples only."""
    if loss == "minimax":
        return f"return -{bce}(fake, torch.zeros_like(fake))"
    if loss == "nonsaturating":
        return f"return {bce}(fake, torch.ones_like(fake))"
    if loss == "lsgan":
        return "return 0.5 * ((fake - 1.0) ** 2).mean()"
    return "return -fake.mean()"


def _imports(*, bce: bool, functional: bool, penalties: bool, sigmoid: bool) -> list[str]:
    lines = []
    if bce or penalties or sigmoid:
        lines.append("import torch")
    if functional:
        lines.append("import torch.nn.functional as F")
    lines.append("from torch import Tensor, nn" if penalties else "from torch import Tensor")
    return lines


def losses_context(spec: ImageSpec) -> dict[str, Any]:
    """PROMPT.md's loss formulas (``d_loss``, ``g_loss``) and ``losses``: the lines, docstrings
    and switches losses.py.j2, train.py.j2 and tests/test_losses.py.j2 render."""
    training, output = spec.training, spec.discriminator.output
    loss = training.loss
    bce = loss in PROBABILITY_LOSSES
    function = (
        "F.binary_cross_entropy"
        if output == "probability"
        else "F.binary_cross_entropy_with_logits"
    )
    smoothing = training.label_smoothing > 0 and loss in LABELLED_LOSSES
    gradient_penalty, r1 = loss == "wgan-gp", training.r1 is not None
    d_formula, g_formula = LOSS_FORMULAS[loss]
    g_note = PROMPT_G_NOTES.get(loss)
    pack = spec.discriminator.pack
    summary_doc, summary_line = _SUMMARY[output]
    names = ["discriminator_loss", "generator_loss", "score_summary"]
    names += ["gradient_penalty"] * gradient_penalty + ["r1_penalty"] * r1
    return {
        "d_loss": f"{d_formula} + {GRADIENT_PENALTY}" if gradient_penalty else d_formula,
        "g_loss": f"{g_formula} ({g_note})" if g_note else g_formula,
        "losses": {
            "doc": _doc(
                f"The `{loss}` loss on D's {_SCORES[output]}"
                + (" with its gradient penalty" if gradient_penalty else "")
                + (" and the R1 penalty" if r1 else "")
                + ", computed in float32 even under mixed precision."
            ),
            "imports": _imports(
                bce=bce,
                functional=bce or loss == "hinge",
                penalties=gradient_penalty or r1,
                sigmoid=output == "logits",
            ),
            "names": sorted(names),
            "smoothing": smoothing,
            # a real score at the smoothed target, for tests/test_losses.py: a logit under BCE
            # with logits, the probability or least-squares score itself otherwise
            "smoothed_score": "torch.logit(target)"
            if bce and output != "probability"
            else "target",
            "d_doc": _doc(
                " ".join(
                    [
                        f"{_formula(d_formula)}: {_D_WHY[loss]}".format(
                            constraint=_wgan_constraint(spec)
                        )
                    ]
                    + [_OUTPUT_NOTE[output]] * bce
                    + [_SMOOTHING_NOTE] * smoothing
                )
            ),
            "d_lines": _discriminator_lines(loss, function, smoothing),
            "g_doc": _doc(f"{_formula(g_formula)}. {_G_WHY[loss]}"),
            "g_line": _generator_line(loss, function),
            "gradient_penalty": gradient_penalty,
            "r1": r1,
            "weight_clip": training.weight_clip is not None,
            # what D's step adds to the loss, which tests/test_losses.py checks on train.py
            "d_step_checks": gradient_penalty or r1 or training.weight_clip is not None,
            "per_pack": f"one row per pack of {pack} samples" if pack > 1 else "one row per sample",
            "summary_doc": _doc(f"D(x) or D(G(z)) as logged: {summary_doc}."),
            "summary_line": f"return {summary_line}",
        },
    }
