"""The feature space for evaluate.py's Fréchet distance and precision/recall: a small CNN
classifier trained on this project's training split of scikit-learn's digits, once, with a
fixed seed, and cached under .cache/. It works offline and also says which digit each
generated sample looks like.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from config import CODE_DIR, data_dims
from data import split_indices

CACHE_DIR = CODE_DIR / ".cache"
CLASSIFIER_SIDE = 16  # digits are 8x8 at heart; 16x16 keeps strokes without wasting work
CLASSIFIER_EPOCHS = 20
BATCH = 256


class DigitsClassifier(nn.Module):
    """Two conv blocks and a 64-d feature layer; 10 logits on top."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (CLASSIFIER_SIDE // 4) ** 2, 64),
            nn.ReLU(),
        )
        self.head = nn.Linear(64, 10)

    @staticmethod
    def prepare(images: Tensor) -> Tensor:
        """Any channel count and size in [0, 1] -> one 16x16 grey channel."""
        grey = images.float().mean(dim=1, keepdim=True)
        return F.interpolate(grey, size=(CLASSIFIER_SIDE, CLASSIFIER_SIDE), mode="area")

    def features(self, images: Tensor) -> Tensor:
        return self.body(self.prepare(images))

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.features(images))


class DigitsFeatures:
    """The cached classifier as a feature extractor (called on images: their 64-d features),
    with its accuracy on held-out digits as ``holdout_accuracy``."""

    name = "domain"

    def __init__(self, model: DigitsClassifier, accuracy: float) -> None:
        self.model, self.holdout_accuracy = model.eval(), accuracy

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        return torch.cat([self.model.features(chunk) for chunk in images.split(BATCH)])

    @torch.no_grad()
    def classify(self, images: Tensor) -> Tensor:
        return torch.cat([self.model(chunk).argmax(1) for chunk in images.split(BATCH)])


def digits_split(cfg: dict[str, Any]) -> dict[str, tuple[Tensor, Tensor]]:
    """Digits images in [0, 1] at the project's shape with their true labels, split as in
    training (the GAN's labels are zeros when it is unconditional; these never are)."""
    from data import digit_arrays  # a digits project's data.py has them

    images, labels = digit_arrays()
    train, holdout = split_indices(len(labels), cfg)
    return {"train": (images[train], labels[train]), "holdout": (images[holdout], labels[holdout])}


def _cache_path(cfg: dict[str, Any]) -> Path:
    """Keyed by all the classifier depends on: the settings it reads and the code that makes
    its data and trains it (this file and data.py), so an edit to either trains it again."""
    code = hashlib.sha256()
    for module in (Path(__file__), Path(__file__).with_name("data.py")):
        code.update(module.read_bytes())
    key = json.dumps(
        {
            "dims": data_dims(cfg),
            "seed": cfg["seed"],
            "holdout": cfg["validation"]["holdout"],
            "code": code.hexdigest(),
        }
    )
    return CACHE_DIR / f"digits_classifier_{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt"


def train_digits_classifier(cfg: dict[str, Any], log: Any = print) -> DigitsFeatures:
    """Train on the training split (seed fixed), or load the cached result of doing so;
    training says so through ``log`` ("training the digits classifier on N digits ...")."""
    path = _cache_path(cfg)
    model = DigitsClassifier()
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        return DigitsFeatures(model, state["holdout_accuracy"])
    split = digits_split(cfg)
    images, labels = split["train"]
    log(f"training the digits classifier on {len(images)} digits (cached at {path})")
    generator = torch.Generator().manual_seed(cfg["seed"])
    with torch.random.fork_rng():
        torch.manual_seed(cfg["seed"])
        model = DigitsClassifier()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(CLASSIFIER_EPOCHS):
            for batch in torch.randperm(len(images), generator=generator).split(64):
                shifted = _jitter(images[batch], generator)
                loss = F.cross_entropy(model(shifted), labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    extractor = DigitsFeatures(model, 0.0)
    holdout_images, holdout_labels = split["holdout"]
    if len(holdout_images):
        predicted = extractor.classify(holdout_images)
        extractor.holdout_accuracy = float((predicted == holdout_labels).float().mean())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "holdout_accuracy": extractor.holdout_accuracy}, tmp)
    tmp.replace(path)
    return extractor


def _jitter(images: Tensor, generator: torch.Generator) -> Tensor:
    """Shift by up to 1/16 of the side: a classifier that tolerates small offsets judges
    generated digits by their shape, not their exact position."""
    side = images.shape[-1]
    shift = max(1, side // 16)
    dx, dy = (torch.randint(-shift, shift + 1, (2,), generator=generator)).tolist()
    return torch.roll(images, shifts=(dy, dx), dims=(-2, -1))
