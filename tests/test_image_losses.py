"""The closed forms of every loss and both penalties, on the losses.py ganspec renders.

A rendered project has only its own spec's loss and tests only its contracts; the formulas are
checked here, once, for every loss and D output: a preset is changed in memory, rendered
in-process, and its losses.py imported from a temp folder.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from ganspec.render.pipeline import render_files
from ganspec.rules import RULES
from tests.conftest import DELETE, validate_mutation
from tests.project_imports import project_imports

BASE = "mlp-ring8"  # a small D ending in {linear: 1}; its R1 is taken away unless asked for
D_OUTPUT_ACT = "discriminator.layers[3].act"
REAL, FAKE = [2.0, -0.5], [-1.0, 0.5]  # D's scores (logits or critic values)
REAL_P, FAKE_P = [0.9, 0.4], [0.2, 0.7]  # D's scores as probabilities


@functools.cache
def losses_source(loss: str, output: str, smoothing: float = 0.0, r1: bool = False) -> str:
    """losses.py as ganspec renders it for the base preset with this loss and D output."""
    changes: dict[str, Any] = {
        "training.loss": loss,
        "discriminator.output": output,
        "training.label_smoothing": smoothing,
        "training.r1": 1.0 if r1 else DELETE,
        "training.r1_every": 1 if r1 else DELETE,
    }
    if loss == "wgan-gp":
        changes["training.gradient_penalty"] = 10.0
    if loss == "wgan":
        changes["training.weight_clip"] = 0.01
    if output == "probability":
        changes[D_OUTPUT_ACT] = "sigmoid"
    report = validate_mutation(BASE, changes)
    assert report.exit_code == 0, [(d.code, d.message) for d in report.diagnostics]
    return render_files(report, set())["losses.py"]


@contextmanager
def rendered(tmp_path: Path, loss: str, output: str, **options: Any) -> Iterator[ModuleType]:
    folder = tmp_path / "-".join([loss, output, *(f"{k}{v}" for k, v in options.items())])
    folder.mkdir()
    (folder / "losses.py").write_text(losses_source(loss, output, **options), encoding="utf-8")
    with project_imports(folder) as modules:
        yield modules["losses"]


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def scores(values: list[float]) -> Tensor:
    return torch.tensor(values).reshape(-1, 1)


# --- the losses ------------------------------------------------------------------------------

# (loss, output, real, fake) -> (D's loss, G's loss), by hand: BCE with logits on a logit l is
# softplus(-l) against 1 and softplus(l) against 0; on a probability p, -log p and -log(1 - p).
CLOSED_FORMS: dict[tuple[str, str], tuple[list[float], list[float], float, float]] = {
    ("nonsaturating", "logits"): (
        REAL,
        FAKE,
        mean([softplus(-r) for r in REAL]) + mean([softplus(f) for f in FAKE]),
        mean([softplus(-f) for f in FAKE]),
    ),
    ("minimax", "logits"): (
        REAL,
        FAKE,
        mean([softplus(-r) for r in REAL]) + mean([softplus(f) for f in FAKE]),
        -mean([softplus(f) for f in FAKE]),
    ),
    ("nonsaturating", "probability"): (
        REAL_P,
        FAKE_P,
        mean([-math.log(r) for r in REAL_P]) + mean([-math.log(1 - f) for f in FAKE_P]),
        mean([-math.log(f) for f in FAKE_P]),
    ),
    ("minimax", "probability"): (
        REAL_P,
        FAKE_P,
        mean([-math.log(r) for r in REAL_P]) + mean([-math.log(1 - f) for f in FAKE_P]),
        mean([math.log(1 - f) for f in FAKE_P]),
    ),
    ("wgan", "critic"): (REAL, FAKE, -0.25 - 0.75, 0.25),
    ("wgan-gp", "critic"): (REAL, FAKE, -0.25 - 0.75, 0.25),
    # relu(1 - 2) = 0, relu(1 + 0.5) = 1.5; relu(1 - 1) = 0, relu(1 + 0.5) = 1.5
    ("hinge", "critic"): (REAL, FAKE, 0.75 + 0.75, 0.25),
    # 0.5 * mean(1^2, 1.5^2) + 0.5 * mean(1^2, 0.5^2); G: 0.5 * mean(2^2, 0.5^2)
    ("lsgan", "critic"): (REAL, FAKE, 0.5 * 3.25 / 2 + 0.5 * 1.25 / 2, 0.5 * 4.25 / 2),
}


@pytest.mark.parametrize(("loss", "output"), list(CLOSED_FORMS))
def test_each_loss_has_its_closed_form(tmp_path: Path, loss: str, output: str) -> None:
    real, fake, d_loss, g_loss = CLOSED_FORMS[loss, output]
    with rendered(tmp_path, loss, output) as losses:
        d = losses.discriminator_loss(scores(real), scores(fake))
        g = losses.generator_loss(scores(fake))
    assert d.item() == pytest.approx(d_loss, rel=1e-6)
    assert g.item() == pytest.approx(g_loss, rel=1e-6)


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating"])
@pytest.mark.parametrize("output", ["logits", "critic"])
def test_bce_with_logits_equals_bce_on_the_sigmoid(tmp_path: Path, loss: str, output: str) -> None:
    """Logits (and a critic's scores under a BCE loss) go through BCE with logits: the same
    losses as a D ending in a sigmoid gets from plain BCE, computed stably."""
    real, fake = scores(REAL), scores(FAKE)
    with rendered(tmp_path, loss, output) as losses:
        on_logits = losses.discriminator_loss(real, fake), losses.generator_loss(fake)
    with rendered(tmp_path, loss, "probability") as losses:
        on_sigmoid = (
            losses.discriminator_loss(torch.sigmoid(real), torch.sigmoid(fake)),
            losses.generator_loss(torch.sigmoid(fake)),
        )
    for ours, plain in zip(on_logits, on_sigmoid, strict=True):
        assert ours.item() == pytest.approx(plain.item(), rel=1e-6)


@pytest.mark.parametrize("output", ["logits", "probability"])
def test_nonsaturating_g_gradient_at_d_g_z_one_percent_is_100x_the_minimax_one(
    tmp_path: Path, output: str
) -> None:
    """GS319's figure: where D gives G's samples 0.01, G's gradient under minimax is about 100x
    smaller than under nonsaturating (99x exactly: (1 - p) / p over 1 / (1 - p) at p = 0.01,
    per unit of D's logit or probability alike)."""
    grads = {}
    for loss in ("minimax", "nonsaturating"):
        probability = torch.tensor([[0.01]])
        score = torch.logit(probability) if output == "logits" else probability
        score.requires_grad_(True)
        with rendered(tmp_path, loss, output) as losses:
            losses.generator_loss(score).backward()
        assert score.grad is not None
        grads[loss] = score.grad.abs().item()
    expected_minimax = 0.01 if output == "logits" else 1 / 0.99
    assert grads["minimax"] == pytest.approx(expected_minimax, rel=1e-4)
    assert grads["nonsaturating"] / grads["minimax"] == pytest.approx(99, rel=1e-3)
    assert "100x smaller" in RULES["GS319"].why


# D's loss with label_smoothing 0.1: the real target is 0.9. BCE with logits against 0.9 is
# 0.9 softplus(-l) + 0.1 softplus(l); least squares is 0.5 (r - 0.9)^2.
SMOOTHED: dict[tuple[str, str], float] = {
    ("nonsaturating", "logits"): mean([0.9 * softplus(-r) + 0.1 * softplus(r) for r in REAL])
    + mean([softplus(f) for f in FAKE]),
    ("lsgan", "critic"): 0.5 * mean([(r - 0.9) ** 2 for r in REAL])
    + 0.5 * mean([f * f for f in FAKE]),
}


@pytest.mark.parametrize(("loss", "output"), list(SMOOTHED))
def test_one_sided_label_smoothing_moves_only_the_real_target(
    tmp_path: Path, loss: str, output: str
) -> None:
    """label_smoothing, passed in (config.yaml's number), lowers the real target to 1 - s; the
    fake target and G's loss stay those of the unsmoothed loss."""
    _, _, d_plain, g_plain = CLOSED_FORMS[loss, output]
    real, fake = scores(REAL), scores(FAKE)
    with rendered(tmp_path, loss, output, smoothing=0.1) as losses:
        smoothed = losses.discriminator_loss(real, fake, 0.1).item()
        unsmoothed = losses.discriminator_loss(real, fake, 0.0).item()
        g = losses.generator_loss(fake).item()
    assert smoothed == pytest.approx(SMOOTHED[loss, output], rel=1e-6)
    assert unsmoothed == pytest.approx(d_plain, rel=1e-6)
    assert g == pytest.approx(g_plain, rel=1e-6)


@pytest.mark.parametrize(
    ("output", "values", "expected"),
    [
        ("logits", [-2.0, 0.0, 2.0, 40.0], mean([1 / (1 + math.exp(-v)) for v in (-2, 0, 2, 40)])),
        ("probability", [0.2, 0.6], 0.4),
        ("critic", [-3.0, 5.0], 1.0),
    ],
)
def test_d_scores_are_logged_as_probabilities_except_a_critics(
    tmp_path: Path, output: str, values: list[float], expected: float
) -> None:
    """D(x) and D(G(z)) in the log: the mean sigmoid of logits, the mean of probabilities, and
    a critic's mean raw score (no probability)."""
    loss = "hinge" if output == "critic" else "nonsaturating"
    with rendered(tmp_path, loss, output) as losses:
        assert losses.score_summary(scores(values)) == pytest.approx(expected, rel=1e-6)


ARGUMENTS = ["real_scores", "fake_scores"]
# loss, output, options; the penalties losses.py defines beside the three loss functions; the
# arguments of discriminator_loss
SELECTED: list[tuple[str, str, dict[str, Any], set[str], list[str]]] = [
    ("nonsaturating", "logits", {}, set(), ARGUMENTS),
    ("nonsaturating", "logits", {"smoothing": 0.1}, set(), [*ARGUMENTS, "label_smoothing"]),
    ("hinge", "critic", {"smoothing": 0.1}, set(), ARGUMENTS),  # GS315: hinge has no labels
    ("wgan-gp", "critic", {}, {"gradient_penalty"}, ARGUMENTS),
    ("nonsaturating", "logits", {"r1": True}, {"r1_penalty"}, ARGUMENTS),
]


@pytest.mark.parametrize(("loss", "output", "options", "penalties", "arguments"), SELECTED)
def test_losses_py_holds_only_what_the_spec_selects_with_no_branch_on_it(
    loss: str, output: str, options: dict[str, Any], penalties: set[str], arguments: list[str]
) -> None:
    """The spec's loss and its penalty only, decided at render time: no ``if`` and no config
    read in the rendered code; label smoothing is an argument only where the loss has labels."""
    source = losses_source(loss, output, **options)
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert set(functions) == {"discriminator_loss", "generator_loss", "score_summary", *penalties}
    assert [a.arg for a in functions["discriminator_loss"].args.args] == arguments
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.If, ast.IfExp))]
    assert "cfg" not in source


# --- the penalties ---------------------------------------------------------------------------


class LinearCritic(nn.Module):
    """D(pack) = w . concat(pack): its gradient with respect to every pack is w."""

    def __init__(self, w: Tensor, pack: int) -> None:
        super().__init__()
        self.pack = pack
        self.w = nn.Parameter(w)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return x.reshape(x.shape[0] // self.pack, -1) @ self.w


def _penalty(tmp_path: Path, name: str) -> Callable[..., Tensor]:
    """``gradient_penalty`` from a wgan-gp render, or ``r1_penalty`` from one with R1."""
    if name == "gradient_penalty":
        with rendered(tmp_path, "wgan-gp", "critic") as losses:
            return losses.gradient_penalty
    with rendered(tmp_path, "nonsaturating", "logits", r1=True) as losses:
        return losses.r1_penalty


@pytest.mark.parametrize("pack", [1, 2])
def test_gradient_penalty_is_zero_for_a_critic_whose_gradient_has_unit_norm_per_pack(
    tmp_path: Path, pack: int
) -> None:
    """A linear critic with a unit-norm weight over its pack is exactly 1-Lipschitz: no
    penalty, wherever the interpolates fall."""
    w = torch.arange(1.0, 3 * pack + 1)
    critic = LinearCritic(w / w.norm(), pack)
    gradient_penalty = _penalty(tmp_path, "gradient_penalty")
    penalty = gradient_penalty(critic, torch.randn(8, 3), torch.randn(8, 3), None, 10.0)
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("pack", [1, 2])
def test_gradient_penalty_is_weight_times_the_squared_distance_of_the_norm_from_one(
    tmp_path: Path, pack: int
) -> None:
    """weight * (||w|| - 1)^2 on a linear critic, and it trains D: its gradient in w is
    weight * 2 (||w|| - 1) w / ||w||."""
    critic = LinearCritic(torch.arange(1.0, 3 * pack + 1), pack)
    gradient_penalty = _penalty(tmp_path, "gradient_penalty")
    penalty = gradient_penalty(critic, torch.randn(8, 3), torch.randn(8, 3), None, 10.0)
    w = critic.w.detach()
    norm = w.norm().item()
    assert penalty.item() == pytest.approx(10.0 * (norm - 1) ** 2, rel=1e-5)
    penalty.backward()
    assert critic.w.grad is not None
    assert torch.allclose(critic.w.grad, 10.0 * 2 * (norm - 1) * w / norm, rtol=1e-5)


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_is_half_gamma_times_the_squared_input_gradient_per_pack(
    tmp_path: Path, pack: int
) -> None:
    """gamma / 2 * ||w||^2 on a linear D, and its gradient in w is gamma * w: R1 trains D
    towards a flat gradient on the data."""
    critic = LinearCritic(torch.arange(1.0, 3 * pack + 1), pack)
    r1_penalty = _penalty(tmp_path, "r1_penalty")
    penalty = r1_penalty(critic, torch.randn(8, 3), None, 4.0)
    w = critic.w.detach()
    assert penalty.item() == pytest.approx(4.0 / 2 * w.square().sum().item())
    penalty.backward()
    assert critic.w.grad is not None
    assert torch.allclose(critic.w.grad, 4.0 * w)
