"""Building blocks shared by every spec kind: strict base model and constrained numbers."""

from __future__ import annotations

import keyword
import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
)

Count = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
NonNegative = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
Number = Annotated[StrictFloat, Field(ge=-1e12, le=1e12)]
Probability = Annotated[StrictFloat, Field(ge=0.0, lt=1.0)]
Flag = StrictBool

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_RULE_CODE = re.compile(r"GS[1-8][0-9]{2}")


def _check_identifier(value: str) -> str:
    if not _IDENTIFIER.fullmatch(value) or keyword.iskeyword(value):
        raise ValueError(
            "must be a lowercase Python identifier (letters, digits, underscores; not starting "
            "with a digit; at most 64 characters; not a keyword): it becomes the package name"
        )
    return value


def _check_rule_code(value: str) -> str:
    if not _RULE_CODE.fullmatch(value):
        raise ValueError("rule codes look like GS305")
    return value


Identifier = Annotated[str, AfterValidator(_check_identifier)]
RuleCode = Annotated[str, AfterValidator(_check_rule_code)]


class ErrorAt(ValueError):
    """A model validator's error about one part of the model (a row of a list, say): the schema
    check places it at ``at`` under the model, so that its line is that part's line."""

    def __init__(self, message: str, *at: str | int) -> None:
        super().__init__(message)
        self.at = at


class StrictModel(BaseModel):
    """Unknown keys are errors and numbers must be finite: typos never pass silently."""

    # defer_build: only the root spec model is ever validated directly; building a validator
    # for every nested model at import time would cost validate a third of its start-up.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, defer_build=True)


def ordered_pair(value: tuple[float, float]) -> tuple[float, float]:
    """Ranges and bands are (low, high) with low < high."""
    low, high = value
    if not low < high:
        raise ValueError(f"the first value must be smaller than the second, got [{low}, {high}]")
    return value


Band = Annotated[tuple[Number, Number], AfterValidator(ordered_pair)]
