"""A CTGAN-style GAN trained with differential privacy (DP-SGD on the discriminator).

Only the discriminator reads real rows, so only its updates are privatised: opacus clips each
row's gradient and adds Gaussian noise (DP-SGD with Poisson sampling). The generator sees real
data only through D's gradients, so it is private by post-processing.

No statistic of the data is read outside that budget: the encoding is built from the declared
fields alone (bounds, values, nullability), never from data minima, maxima or modes, and
training is unconditional (CTGAN's training-by-sampling would leak category frequencies).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from opacus import PrivacyEngine
from opacus.accountants import create_accountant
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

GUMBEL_TAU = 0.2  # CTGAN's temperature for the one-hot spans
ACCOUNTANTS = ("rdp", "prv")
LOSSES = ("bce",)
FORMAT = 1  # version of the saved state


class PrivacyBudgetError(ValueError):
    """The privacy budget cannot pay for training: opacus finds no noise level that keeps the
    planned epochs within it, or not one step fits in it. train.py refuses it (exit 2)."""


# --- declared fields ------------------------------------------------------------------------


@dataclass(frozen=True)
class NumericalField:
    """A number inside [low, high]; integers are rounded, floats rounded to ``decimals``."""

    name: str
    low: float
    high: float
    integer: bool
    decimals: int | None
    nullable: bool


@dataclass(frozen=True)
class CategoricalField:
    """One of ``values`` (str or int; a boolean column declares (False, True))."""

    name: str
    values: tuple
    nullable: bool


@dataclass(frozen=True)
class DatetimeField:
    """A timestamp inside [low, high], modelled as seconds after ``low``."""

    name: str
    low: pd.Timestamp
    high: pd.Timestamp
    nullable: bool


Field = NumericalField | CategoricalField | DatetimeField


@dataclass(frozen=True)
class Span:
    """Columns [start, start + width) of the encoding: one tanh slot or one one-hot group."""

    start: int
    width: int
    one_hot: bool


def layout(fields: Sequence[Field]) -> list[tuple[Span, ...]]:
    """The encoding's spans, per field, in field order; it depends on the declarations only."""
    spans, start = [], 0
    for field in fields:
        if isinstance(field, CategoricalField):
            widths = [(len(field.values) + field.nullable, True)]
        else:  # a value slot, then a [present, missing] indicator when nullable
            widths = [(1, False)] + ([(2, True)] if field.nullable else [])
        own = []
        for width, one_hot in widths:
            own.append(Span(start, width, one_hot))
            start += width
        spans.append(tuple(own))
    return spans


def _check_fields(fields: Sequence[Field]) -> None:
    """Refuse declarations that no output could honour, before any training time is spent."""
    if not fields:
        raise ValueError("at least one field is needed")
    names = [field.name for field in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"field names repeat: {names}")
    for field in fields:
        if isinstance(field, CategoricalField):
            if not field.values or len(set(field.values)) != len(field.values):
                raise ValueError(f"{field.name!r}: values must be non-empty and distinct")
        elif not field.low <= field.high:
            raise ValueError(f"{field.name!r}: low must not exceed high")
        elif isinstance(field, NumericalField) and field.integer and _no_integer_inside(field):
            raise ValueError(f"{field.name!r}: no integer lies inside [low, high]")


def _no_integer_inside(field: NumericalField) -> bool:
    return math.ceil(field.low) > math.floor(field.high)


# --- encoding: declared bounds only ---------------------------------------------------------


def _continuous(field: NumericalField | DatetimeField, column: pd.Series) -> np.ndarray:
    """The column as floats (NaN = missing): numbers as they are, timestamps as seconds
    after the declared low."""
    if isinstance(field, NumericalField):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    seconds = (pd.to_datetime(column) - field.low) / pd.Timedelta(seconds=1)
    return seconds.to_numpy(dtype="float64", na_value=np.nan)


def _bounds(field: NumericalField | DatetimeField) -> tuple[float, float]:
    """[low, high] in the units of ``_continuous``."""
    if isinstance(field, NumericalField):
        return float(field.low), float(field.high)
    return 0.0, (field.high - field.low) / pd.Timedelta(seconds=1)


def _scale(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """[low, high] -> [-1, 1], clipping first: the declared bounds are the contract."""
    if high <= low:
        return np.zeros_like(x)
    return 2.0 * (np.clip(x, low, high) - low) / (high - low) - 1.0


def _unscale(t: np.ndarray, low: float, high: float) -> np.ndarray:
    """[-1, 1] -> [low, high]."""
    return low + (np.clip(t, -1.0, 1.0) + 1.0) / 2.0 * (high - low)


def _one_hot(codes: np.ndarray, width: int) -> np.ndarray:
    return np.eye(width, dtype=np.float64)[codes]


def _check_missing(field: Field, missing: np.ndarray) -> None:
    if missing.any() and not field.nullable:
        raise ValueError(f"{field.name!r} is not nullable but has {int(missing.sum())} missing")


def _encode_continuous(field: NumericalField | DatetimeField, column: pd.Series) -> np.ndarray:
    x = _continuous(field, column)
    missing = np.isnan(x)
    _check_missing(field, missing)
    value = np.where(missing, 0.0, _scale(np.nan_to_num(x), *_bounds(field)))
    blocks = [value[:, None]]
    if field.nullable:
        blocks.append(_one_hot(missing.astype(np.int64), 2))
    return np.concatenate(blocks, axis=1)


def _encode_categorical(field: CategoricalField, column: pd.Series) -> np.ndarray:
    index = {value: code for code, value in enumerate(field.values)}
    missing = column.isna().to_numpy()
    _check_missing(field, missing)
    codes = np.full(len(column), len(field.values), dtype=np.int64)  # the missing slot
    for row, value in enumerate(column.astype(object).to_numpy()):
        if not missing[row]:
            if value not in index:
                raise ValueError(f"{field.name!r}: {value!r} is not a declared value")
            codes[row] = index[value]
    return _one_hot(codes, len(field.values) + field.nullable)


def encode(fields: Sequence[Field], frame: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` in the model's space (float32), from the declarations alone."""
    blocks = [
        _encode_categorical(field, frame[field.name])
        if isinstance(field, CategoricalField)
        else _encode_continuous(field, frame[field.name])
        for field in fields
    ]
    return np.concatenate(blocks, axis=1).astype(np.float32)


# --- decoding: back to declared columns and dtypes ------------------------------------------


def _round_inside(x: np.ndarray, low: float, high: float, decimals: int) -> np.ndarray:
    """Round to ``decimals`` and stay inside [low, high] (bounds win if no such value fits)."""
    step = 10.0**-decimals
    lo, hi = round(low, decimals), round(high, decimals)
    lo = lo if lo >= low else round(lo + step, decimals)
    hi = hi if hi <= high else round(hi - step, decimals)
    if lo > hi:
        return np.clip(x, low, high)
    return np.clip(np.round(x, decimals), lo, hi)


def _numerical_series(field: NumericalField, x: np.ndarray, missing: np.ndarray) -> pd.Series:
    if field.integer:
        whole = np.clip(np.rint(x), math.ceil(field.low), math.floor(field.high))
        values = pd.arrays.IntegerArray(whole.astype(np.int64), missing.copy())
        return pd.Series(values, name=field.name)
    x = np.clip(x, field.low, field.high)
    if field.decimals is not None:
        x = _round_inside(x, field.low, field.high, field.decimals)
    return pd.Series(np.where(missing, np.nan, x), dtype="float64", name=field.name)


def _datetime_series(field: DatetimeField, seconds: np.ndarray, missing: np.ndarray) -> pd.Series:
    """Whole seconds after ``low``, so the result never passes ``high``."""
    whole = np.clip(np.rint(seconds), 0, math.floor(_bounds(field)[1]))
    stamps = pd.Series(field.low + pd.to_timedelta(whole, unit="s"), name=field.name)
    return stamps.dt.as_unit("ns").mask(missing)


def _categorical_dtype(values: tuple) -> str | type:
    """The dtype the column had on the way in: boolean, Int64 or object."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return "boolean"
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return "Int64"
    return object


def _categorical_series(field: CategoricalField, block: np.ndarray) -> pd.Series:
    codes = block.argmax(axis=1)
    choices = np.array([*field.values, None], dtype=object)  # the last is the missing slot
    values = choices[np.minimum(codes, len(field.values))]
    dtype = _categorical_dtype(field.values)
    if dtype is object:
        values = np.where(pd.isna(values), np.nan, values)
        return pd.Series(values, dtype=object, name=field.name)
    return pd.Series(pd.array(list(values), dtype=dtype), name=field.name)


def decode(fields: Sequence[Field], matrix: np.ndarray) -> pd.DataFrame:
    """Encoded rows (one-hot groups may be soft: argmax decides) back to declared columns."""
    columns = {}
    for field, spans in zip(fields, layout(fields), strict=True):
        first = spans[0]
        block = matrix[:, first.start : first.start + first.width]
        if isinstance(field, CategoricalField):
            columns[field.name] = _categorical_series(field, block)
            continue
        missing = np.zeros(len(matrix), dtype=bool)
        if field.nullable:
            flag = spans[1]
            missing = matrix[:, flag.start : flag.start + flag.width].argmax(axis=1) == 1
        x = _unscale(block[:, 0].astype(np.float64), *_bounds(field))
        if isinstance(field, NumericalField):
            columns[field.name] = _numerical_series(field, x, missing)
        else:
            columns[field.name] = _datetime_series(field, x, missing)
    return pd.DataFrame(columns)


# --- networks (CTGAN's, with pac = 1 and no BatchNorm in D) ---------------------------------


class Residual(nn.Module):
    """Linear + BatchNorm + ReLU, concatenated with its input (CTGAN's generator block)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    """Noise -> raw encoded row; ``activate`` turns the raw output into a row."""

    def __init__(self, embedding_dim: int, generator_dim: Sequence[int], data_dim: int) -> None:
        super().__init__()
        dim, layers = embedding_dim, []
        for width in generator_dim:
            layers.append(Residual(dim, width))
            dim += width
        layers.append(nn.Linear(dim, data_dim))
        self.seq = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.seq(z)


class Discriminator(nn.Module):
    """Row -> logit. No BatchNorm: it mixes rows, which per-row clipping cannot allow."""

    def __init__(self, data_dim: int, discriminator_dim: Sequence[int]) -> None:
        super().__init__()
        dim, layers = data_dim, []
        for width in discriminator_dim:
            layers += [nn.Linear(dim, width), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            dim = width
        layers.append(nn.Linear(dim, 1))
        self.seq = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.seq(x)


def activate(raw: Tensor, spans: Sequence[Span]) -> Tensor:
    """Training activation: tanh per value slot, soft gumbel-softmax per one-hot group."""
    parts = []
    for span in spans:
        piece = raw[:, span.start : span.start + span.width]
        if span.one_hot:
            parts.append(F.gumbel_softmax(piece, tau=GUMBEL_TAU, hard=False))
        else:
            parts.append(torch.tanh(piece))
    return torch.cat(parts, dim=1)


def _draw(raw: Tensor, spans: Sequence[Span], generator: torch.Generator) -> Tensor:
    """Sampling activation: the gumbel-max draw per one-hot group (the category the soft
    gumbel-softmax peaks at), with noise from ``generator`` so a seed fixes the rows."""
    parts = []
    for span in spans:
        piece = raw[:, span.start : span.start + span.width]
        if span.one_hot:
            gumbel = -torch.empty(piece.shape).exponential_(generator=generator).log()
            codes = (piece + gumbel).argmax(dim=1)
            parts.append(F.one_hot(codes, span.width).to(piece.dtype))
        else:
            parts.append(torch.tanh(piece))
    return torch.cat(parts, dim=1)


# --- privacy accounting ---------------------------------------------------------------------


def epsilon_after(
    accountant: str, noise_multiplier: float, sample_rate: float, steps: int, delta: float
) -> float:
    """Epsilon spent by ``steps`` D steps: what opacus's accountant reports after them (its
    history then holds exactly this one entry)."""
    if steps == 0:
        return 0.0
    spent = create_accountant(mechanism=accountant)
    spent.history = [(noise_multiplier, sample_rate, steps)]
    return float(spent.get_epsilon(delta=delta))


def affordable_steps(
    accountant: str,
    noise_multiplier: float,
    sample_rate: float,
    planned: int,
    epsilon: float,
    delta: float,
) -> int:
    """The most D steps, up to ``planned``, whose epsilon stays within the budget.

    Epsilon grows with the step count, so one look-up (or a bisection) replaces asking the
    accountant after every step, which costs 0.1-2 s a call.
    """
    if epsilon_after(accountant, noise_multiplier, sample_rate, planned, delta) <= epsilon:
        return planned
    fits, exceeds = 0, planned
    while exceeds - fits > 1:
        middle = (fits + exceeds) // 2
        if epsilon_after(accountant, noise_multiplier, sample_rate, middle, delta) <= epsilon:
            fits = middle
        else:
            exceeds = middle
    return fits


def _privacy_engine(accountant: str) -> PrivacyEngine:
    """opacus's engine with its pseudo-random (seedable) noise."""
    with warnings.catch_warnings():
        # secure_mode=True needs torchcsprng, which is not installed; noise and sampling use
        # seeded torch generators instead (reproducible fits), and opacus warns about that on
        # every construction. Only that one notice is silenced.
        warnings.filterwarnings("ignore", message="Secure RNG turned off", category=UserWarning)
        return PrivacyEngine(accountant=accountant, secure_mode=False)


# --- the model ------------------------------------------------------------------------------


@dataclass
class _Run:
    """What one fit trains with: G, opacus's D, their optimizers, D's loss, the loader."""

    generator: Generator
    discriminator: nn.Module
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer
    criterion: Callable[[Tensor, Tensor], Any]
    loader: DataLoader
    engine: PrivacyEngine


def _adam(module: nn.Module, lr: float, decay: float) -> torch.optim.Adam:
    """CTGAN's optimiser settings."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.9), weight_decay=decay)


def _field_to_plain(field: Field) -> dict[str, Any]:
    """A field as torch.load(weights_only=True) can read it back: no Timestamps, no tuples."""
    plain = asdict(field)
    if isinstance(field, NumericalField):
        return {"kind": "numerical", **plain}
    if isinstance(field, CategoricalField):
        return {"kind": "categorical", **plain, "values": list(field.values)}
    return {
        "kind": "datetime",
        **plain,
        "low": field.low.isoformat(),
        "high": field.high.isoformat(),
    }


def _field_from_plain(plain: dict[str, Any]) -> Field:
    rest = {key: value for key, value in plain.items() if key != "kind"}
    if plain["kind"] == "numerical":
        return NumericalField(**rest)
    if plain["kind"] == "categorical":
        return CategoricalField(**{**rest, "values": tuple(rest["values"])})
    return DatetimeField(
        **{**rest, "low": pd.Timestamp(rest["low"]), "high": pd.Timestamp(rest["high"])}
    )


class DPGAN:
    """CTGAN's generator and discriminator, trained with DP-SGD on D (opacus), unconditional,
    with the non-saturating BCE loss."""

    def __init__(
        self,
        fields: Sequence[Field],
        *,
        seed: int,
        epsilon: float,
        delta: float,
        max_grad_norm: float = 1.0,
        accountant: str = "rdp",
        loss: str = "bce",
        epochs: int = 300,
        batch_size: int = 500,
        generator_dim: Sequence[int] = (256, 256),
        discriminator_dim: Sequence[int] = (256, 256),
        embedding_dim: int = 128,
        generator_lr: float = 2e-4,
        discriminator_lr: float = 2e-4,
        generator_decay: float = 1e-6,
        discriminator_decay: float = 1e-6,
        discriminator_steps: int = 1,
        device: str = "cpu",
        progress: Callable[[int, float, float], None] | None = None,
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss {loss!r} is not supported with DP training; use 'bce'")
        if accountant not in ACCOUNTANTS:
            raise ValueError(f"accountant {accountant!r}: use one of {ACCOUNTANTS}")
        if not (epsilon > 0 and 0 < delta < 1 and max_grad_norm > 0):
            raise ValueError("need epsilon > 0, 0 < delta < 1 and max_grad_norm > 0")
        if min(epochs, embedding_dim, discriminator_steps) < 1 or batch_size < 2:
            # G's BatchNorm needs two rows per batch
            raise ValueError(
                "need epochs, embedding_dim, discriminator_steps >= 1, batch_size >= 2"
            )
        _check_fields(fields)
        self.fields = tuple(fields)
        self.params: dict[str, Any] = {
            "seed": int(seed),
            "epsilon": float(epsilon),
            "delta": float(delta),
            "max_grad_norm": float(max_grad_norm),
            "accountant": accountant,
            "loss": loss,
            "epochs": int(epochs),
            "batch_size": int(batch_size),
            "generator_dim": [int(width) for width in generator_dim],
            "discriminator_dim": [int(width) for width in discriminator_dim],
            "embedding_dim": int(embedding_dim),
            "generator_lr": float(generator_lr),
            "discriminator_lr": float(discriminator_lr),
            "generator_decay": float(generator_decay),
            "discriminator_decay": float(discriminator_decay),
            "discriminator_steps": int(discriminator_steps),
        }
        self.device = torch.device(device)
        self.progress = progress
        self.spans = [span for spans in layout(self.fields) for span in spans]
        self.data_dim = sum(span.width for span in self.spans)
        self.generator: Generator | None = None
        self.privacy: dict[str, Any] | None = None
        self.loss_values: list[dict[str, float]] = []

    # --- training -------------------------------------------------------------------------

    def _new_generator(self) -> Generator:
        p = self.params
        return Generator(p["embedding_dim"], p["generator_dim"], self.data_dim).to(self.device)

    def _noise(self, rows: int) -> Tensor:
        return torch.randn(rows, self.params["embedding_dim"], device=self.device)

    def fit(self, frame: pd.DataFrame) -> DPGAN:
        """Train on ``frame`` until its epochs are done or the privacy budget is spent.

        Runs under a forked, seeded torch RNG: the same seed and data give the same weights on
        the CPU, and the caller's global RNG state is left as it was.
        """
        data = torch.from_numpy(encode(self.fields, frame))
        if len(data) == 0:
            raise ValueError("cannot fit on an empty table")
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.params["seed"])
            self._fit(data)
        return self

    def _fit(self, data: Tensor) -> None:
        p = self.params
        run = self._private_training(data)
        sigma, rate = float(run.optimizer_d.noise_multiplier), float(run.loader.sample_rate)
        budget = affordable_steps(
            p["accountant"], sigma, rate, p["epochs"] * len(run.loader), p["epsilon"], p["delta"]
        )
        if budget == 0:
            raise PrivacyBudgetError(
                f"the privacy budget (epsilon {p['epsilon']}, delta {p['delta']}) does not pay "
                f"for a single training step at noise multiplier {sigma:.3g} and sampling rate "
                f"{rate:.3g}: raise epsilon"
            )
        steps = self._train(run, budget)
        spent = float(run.engine.accountant.get_epsilon(delta=p["delta"]))
        if spent > p["epsilon"]:  # cannot happen: the step budget was computed the same way
            raise RuntimeError(f"spent epsilon {spent} over the target {p['epsilon']}")
        self.generator = run.generator
        self.privacy = {
            "epsilon_target": p["epsilon"],
            "epsilon_spent": spent,
            "delta": p["delta"],
            "noise_multiplier": sigma,
            "max_grad_norm": p["max_grad_norm"],
            "sample_rate": rate,
            "steps": steps,
            "epochs_completed": steps // len(run.loader),
            "accountant": p["accountant"],
        }

    def _private_training(self, data: Tensor) -> _Run:
        """G, and D made private by opacus, with noise calibrated to (epsilon, delta) over the
        planned epochs.

        Ghost clipping ("ghost" mode) clips the same per-row gradients as opacus's default
        hooks but gets their norms without materialising them: about 15x faster for D here.
        Poisson sampling draws from the loader's generator and noise from noise_generator, both
        seeded, so the private updates are reproducible.
        """
        p = self.params
        generator = self._new_generator()
        discriminator = Discriminator(self.data_dim, p["discriminator_dim"]).to(self.device)
        optimizer_g = _adam(generator, p["generator_lr"], p["generator_decay"])
        optimizer_d = _adam(discriminator, p["discriminator_lr"], p["discriminator_decay"])
        sampling = torch.Generator().manual_seed(p["seed"] + 1)
        noise = torch.Generator(device=self.device).manual_seed(p["seed"] + 2)
        loader = DataLoader(TensorDataset(data), batch_size=p["batch_size"], generator=sampling)
        engine = _privacy_engine(p["accountant"])
        try:
            discriminator, optimizer_d, criterion, loader = engine.make_private_with_epsilon(
                module=discriminator,
                optimizer=optimizer_d,
                criterion=nn.BCEWithLogitsLoss(),
                data_loader=loader,
                target_epsilon=p["epsilon"],
                target_delta=p["delta"],
                epochs=p["epochs"],
                max_grad_norm=p["max_grad_norm"],
                noise_generator=noise,
                grad_sample_mode="ghost",
            )
        except ValueError as exc:  # opacus: "The privacy budget is too low."
            if "budget" not in str(exc):
                raise
            raise PrivacyBudgetError(
                f"the privacy budget (epsilon {p['epsilon']}, delta {p['delta']}) is too small "
                f"for {p['epochs']} epochs: opacus finds no noise level that keeps them within "
                "it; raise epsilon or train fewer epochs"
            ) from None
        return _Run(generator, discriminator, optimizer_g, optimizer_d, criterion, loader, engine)

    def _train(self, run: _Run, budget: int) -> int:
        """The epochs, cut short once ``budget`` D steps are spent; returns the D steps taken.

        An epoch is one Poisson pass of the private loader (what opacus calibrated the noise
        for); G steps after every ``discriminator_steps`` D steps and at an epoch's end.
        """
        every = self.params["discriminator_steps"]
        self.loss_values = []
        steps = 0
        for epoch in range(self.params["epochs"]):
            losses_g, losses_d = [], []
            for index, (real,) in enumerate(run.loader):
                losses_d.append(self._step_d(run, real))
                steps += 1
                if steps % every == 0 or index == len(run.loader) - 1 or steps == budget:
                    losses_g.append(self._step_g(run))
                if steps == budget:
                    break
            self._record(epoch, losses_g, losses_d)
            if steps == budget:
                break
        return steps

    def _step_d(self, run: _Run, real: Tensor) -> float:
        """One private D step: one forward/backward over the real rows and batch_size fakes.

        The fake count is fixed, not matched to the Poisson batch, so a row's presence changes
        only its own clipped gradient. An empty Poisson batch still makes a step (fakes only,
        noise added), so the accountant's step count is the steps taken.
        """
        real = real.to(self.device)
        with torch.no_grad():
            fake = activate(run.generator(self._noise(self.params["batch_size"])), self.spans)
        # The input asks for a gradient only so that torch's full backward hooks (which opacus
        # uses) see one; nothing reads it.
        rows = torch.cat([real, fake]).requires_grad_(True)
        targets = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).to(self.device)
        # Also clears whatever the G step left on D, so the privatised update holds this
        # batch only.
        run.optimizer_d.zero_grad(set_to_none=True)
        loss = run.criterion(run.discriminator(rows).squeeze(1), targets)
        loss.backward()
        run.optimizer_d.step()
        return loss.item()

    def _step_g(self, run: _Run) -> float:
        """Non-saturating G step: BCE(D(G(z)), 1). Gradients flow through D to G only: D's
        per-row hooks are off and backward fills G's parameters alone."""
        fake = activate(run.generator(self._noise(self.params["batch_size"])), self.spans)
        run.discriminator.disable_hooks()
        try:
            scores = run.discriminator(fake).squeeze(1)
            loss = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
            run.optimizer_g.zero_grad(set_to_none=True)
            loss.backward(inputs=list(run.generator.parameters()))
        finally:
            run.discriminator.enable_hooks()
        run.optimizer_g.step()
        return loss.item()

    def _record(self, epoch: int, losses_g: list[float], losses_d: list[float]) -> None:
        """The epoch's mean losses, and the progress callback."""
        g, d = float(np.mean(losses_g)), float(np.mean(losses_d))
        self.loss_values.append({"epoch": epoch, "generator": g, "discriminator": d})
        if self.progress is not None:
            self.progress(epoch, g, d)

    # --- sampling and storage -------------------------------------------------------------

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` rows with the declared columns and dtypes; the same seed gives the same rows.

        G runs in eval mode (BatchNorm's running statistics), so a row does not depend on the
        others drawn with it, and sampling changes nothing in the model.
        """
        if self.generator is None:
            raise RuntimeError("fit or load the model before sampling")
        if n < 0:
            raise ValueError(f"cannot sample {n} rows")
        rng = torch.Generator()
        if seed is None:
            rng.seed()
        else:
            rng.manual_seed(seed)
        self.generator.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, n, self.params["batch_size"]):
                rows = min(self.params["batch_size"], n - start)
                z = torch.randn(rows, self.params["embedding_dim"], generator=rng)
                raw = self.generator(z.to(self.device)).cpu()
                parts.append(_draw(raw, self.spans, rng))
        matrix = torch.cat(parts).numpy() if parts else np.zeros((0, self.data_dim))
        return decode(self.fields, matrix)

    def save(self, path: str | Path) -> None:
        """Plain state only (tensors, lists, dicts, str, numbers, bool, None), so it loads
        with ``torch.load(weights_only=True)``; the opacus-wrapped D is not kept."""
        if self.generator is None or self.privacy is None:
            raise RuntimeError("fit the model before saving it")
        state = {
            "format": FORMAT,
            "fields": [_field_to_plain(field) for field in self.fields],
            "params": dict(self.params),
            "generator": {k: v.detach().cpu() for k, v in self.generator.state_dict().items()},
            "privacy": dict(self.privacy),
            "loss_values": [dict(row) for row in self.loss_values],
        }
        torch.save(state, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> DPGAN:
        """A model saved by ``save``, ready to sample."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown format {state.get('format')!r}")
        fields = [_field_from_plain(plain) for plain in state["fields"]]
        model = cls(fields, **state["params"], device=device)
        model.generator = model._new_generator()
        model.generator.load_state_dict(state["generator"])
        model.privacy = dict(state["privacy"])
        model.loss_values = [dict(row) for row in state["loss_values"]]
        return model
