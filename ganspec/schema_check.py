"""Turn a parsed document into a Spec, mapping every pydantic error to a positioned diagnostic.

Pydantic reports locations as tuples that include union tags (``('layers', 0, 'conv',
'stride')``); we walk them against the raw data to get the user's path and YAML position,
and rewrite pydantic's messages into the user's terms, with a did-you-mean for typos.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ganspec.diagnostics import MAX_PER_CODE, Diagnostic, elide
from ganspec.layer_aliases import layer_advice
from ganspec.source import PathKey, Position, SourceDocument
from ganspec.spec import SPEC_KINDS, SPEC_VERSION, Spec
from ganspec.spec.layers import LAYER_TYPES, OP_KEYS, op_of
from ganspec.spec.tabular import (
    CONSTRAINT_KEYS,
    CONSTRAINT_TYPES,
    combinations_form,
    constraint_of,
)

# Words people write for a field, mapped to the field ganspec calls it.
SYNONYMS: dict[str, str] = {
    "learning_rate": "lr",
    "beta": "betas",
    "n_critic": "d_steps_per_g_step",
    "critic_steps": "d_steps_per_g_step",
    "z_dim": "latent_dim",
    "nz": "latent_dim",
    "activation": "act",
    "normalization": "norm",
    "kernel_size": "kernel",
    "num_classes": "classes",
    "n_classes": "classes",
    "gp_weight": "gradient_penalty",
    "lambda_gp": "gradient_penalty",
    "clip": "weight_clip",
    "optimizer": "optimizers",
    "bs": "batch_size",
    "conv2d": "conv",
    "deconv": "conv_transpose",
    "convtranspose": "conv_transpose",
    "conv_transpose2d": "conv_transpose",
    "dense": "linear",
    "fc": "linear",
    "view": "reshape",
    "unflatten": "reshape",
}


@dataclass(frozen=True)
class RetiredChoice:
    """A value ganspec once accepted and now refuses because it meant two things: the error
    names every value it could have meant and what each one does."""

    field: str
    meanings: dict[str, str]  # current value -> what it does
    why: str


# value -> what to write instead; only offered where every replacement is allowed there.
RETIRED_CHOICES: dict[str, RetiredChoice] = {
    "bce": RetiredChoice(
        field="loss",
        meanings={
            "nonsaturating": "G minimises -log D(G(z)), what code written with nn.BCELoss() does",
            "minimax": "G minimises log(1 - D(G(z))), the original saturating loss",
        },
        why="'bce' named the saturating minimax loss, while code written with nn.BCELoss() "
        "trains G non-saturating; both train D with BCE",
    ),
}


def path_text(path: PathKey) -> str:
    """``('generator', 'layers', 3, 'padding')`` -> ``generator.layers[3].padding``.

    A key too long to read is elided: the path names a place, it need not spell it all.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{elide(part)}" if text else elide(part)
    return text


@dataclass(frozen=True)
class SchemaResult:
    spec: Spec | None
    diagnostics: list[Diagnostic]
    # Findings of a code beyond those in ``diagnostics``, counted but never worded.
    not_shown: Counter[str] = field(default_factory=Counter)


_LONGEST_WORD = 64


def did_you_mean(word: str, choices: list[str]) -> str | None:
    """The field a typo most likely meant, through synonyms too (``learning_rat`` -> ``lr``)."""
    if len(word) > _LONGEST_WORD:
        return None  # no field name is that long; difflib would only spend time on it
    lowered = word.lower().replace("-", "_")
    pool = {choice: choice for choice in choices}
    pool.update({alias: real for alias, real in SYNONYMS.items() if real in choices})
    if lowered in pool:
        return pool[lowered]
    match = difflib.get_close_matches(lowered, list(pool), n=1, cutoff=0.7)
    return pool[match[0]] if match else None


class _Mapper:
    def __init__(self, document: SourceDocument) -> None:
        self.doc = document
        # (parent path, field) pairs a did-you-mean pointed at: their "missing" errors are
        # the same mistake seen from the other side, so they are not reported twice.
        self.suggested: set[tuple[PathKey, str]] = set()

    def diagnostic(
        self,
        code: str,
        message: str,
        path: PathKey,
        *,
        key: bool = False,
        fix: str | None = None,
        position: Position | None = None,
    ) -> Diagnostic:
        position = position or self.doc.position(path, key=key)
        where = (self.doc.file, position.line, position.column)
        return Diagnostic.at(where, code, "error", message, path_text(path), fix)

    def resolve(self, loc: tuple[Any, ...]) -> tuple[PathKey, Any]:
        """User path for a pydantic loc, and the raw value found there."""
        path: list[str | int] = []
        node: Any = self.doc.data
        skip_tag = False
        for part in loc:
            list_item = bool(path) and isinstance(path[-1], int)
            if not skip_tag and _is_tag(part, node, list_item, path[-1] if path else None):
                skip_tag = True
                continue
            skip_tag = False
            path.append(part)
            if isinstance(node, dict) and isinstance(part, str):
                node = node.get(part, _MISSING)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                node = _MISSING
        return tuple(path), node

    def convert(
        self, path: PathKey, value: Any, error: dict[str, Any], model_for: type[BaseModel]
    ) -> Diagnostic:
        kind = error["type"]
        at = getattr((error.get("ctx") or {}).get("error"), "at", None)
        if kind == "value_error" and isinstance(at, tuple):  # ErrorAt: about one part
            path = (*path, *at)
        field = path[-1] if path else ""
        if kind == "extra_forbidden":
            choices = _fields_at(model_for, path[:-1], self.doc.data)
            suggestion = did_you_mean(str(field), choices)
            if suggestion:
                self.suggested.add((path[:-1], suggestion))
            hint = f"did you mean '{suggestion}'?" if suggestion else None
            allowed = ", ".join(sorted(choices)) if choices else "none"
            shown = elide(str(field))
            return self.diagnostic(
                "GS103",
                f"unknown key '{shown}'" + (f"; {hint}" if hint else f" (allowed: {allowed})"),
                path,
                key=True,
                fix=f"rename '{shown}' to '{suggestion}'" if suggestion else f"remove '{shown}'",
            )
        if kind == "missing" and isinstance(field, int):
            return self.diagnostic("GS104", f"too few items: item {field + 1} is missing", path)
        if kind == "missing":
            return self.diagnostic(
                "GS105", f"required key '{field}' is missing", path, fix=f"add '{field}: ...'"
            )
        if kind == "layer_op":
            return self._layer_op(path, value)
        if kind == "constraint_kind":
            return self._constraint_kind(path, value)
        if kind == "union_tag_invalid" and isinstance(value, dict) and "type" in value:
            path = (*path, "type")
            value = value["type"]
        retired = _retired_choice(error, value, field)
        if retired is not None:
            return self.diagnostic(
                "GS104",
                f"{retired.why}; choose {' or '.join(retired.meanings)}",
                path,
                fix=" or ".join(
                    f"{retired.field}: {choice} ({meaning})"
                    for choice, meaning in retired.meanings.items()
                ),
            )
        fix = _choice_fix(error, value, field) or _bound_fix(error, value, field)
        return self.diagnostic("GS104", _describe_value_error(error, value), path, fix=fix)

    def _layer_op(self, path: PathKey, value: Any) -> Diagnostic:
        ops = ", ".join(OP_KEYS)
        if not isinstance(value, dict):
            return self.diagnostic(
                "GS104", f"a layer is a mapping like {{conv: 64, kernel: 4}}; one of: {ops}", path
            )
        present = [key for key in value if key in LAYER_TYPES]
        if len(present) > 1:
            return self.diagnostic(
                "GS104",
                f"a layer has exactly one op key, this one has {', '.join(present)}",
                path,
                fix="split it into one layer per op",
            )
        index = path[-1] if path else 0
        before = path_text((*path[:-1], index - 1)) if isinstance(index, int) and index else None
        advice = layer_advice(value, before)
        if advice is not None:
            key, said = advice
            meant = f"; did you mean '{said.meant}'?" if said.meant else ""
            return self.diagnostic(
                "GS103",
                f"unknown op '{elide(key)}'{meant} ({said.explanation})",
                (*path, key),
                key=True,
                fix=said.fix,
            )
        for key in value:
            suggestion = did_you_mean(str(key), list(OP_KEYS))
            if suggestion:
                return self.diagnostic(
                    "GS103",
                    f"unknown op '{elide(str(key))}'; did you mean '{suggestion}'?",
                    (*path, key),
                    key=True,
                    fix=f"rename '{elide(str(key))}' to '{suggestion}'",
                )
        options = {name for model in LAYER_TYPES.values() for name in model.model_fields}
        for key in value:
            if key not in options:
                return self.diagnostic(
                    "GS103",
                    f"unknown op '{elide(str(key))}' (ops: {ops})",
                    (*path, key),
                    key=True,
                    fix=f"replace '{elide(str(key))}' with one of the ops",
                )
        return self.diagnostic("GS105", f"the layer has no op key; add one of: {ops}", path)

    def _constraint_kind(self, path: PathKey, value: Any) -> Diagnostic:
        kinds = ", ".join(CONSTRAINT_KEYS)
        if not isinstance(value, dict):
            return self.diagnostic(
                "GS104",
                f"a constraint is a mapping like {{inequality: {{low: a, high: b}}}}; one of: "
                f"{kinds}",
                path,
            )
        present = [key for key in value if key in CONSTRAINT_TYPES]
        if len(present) > 1:
            return self.diagnostic(
                "GS104",
                f"a constraint has exactly one kind key, this one has {', '.join(present)}",
                path,
                fix="split it into one constraint per kind",
            )
        for key in value:
            suggestion = did_you_mean(str(key), list(CONSTRAINT_KEYS))
            if suggestion:
                return self.diagnostic(
                    "GS103",
                    f"unknown constraint '{elide(str(key))}'; did you mean '{suggestion}'?",
                    (*path, key),
                    key=True,
                    fix=f"rename '{elide(str(key))}' to '{suggestion}'",
                )
        return self.diagnostic(
            "GS105", f"the constraint has no kind key; add one of: {kinds}", path
        )


_MISSING = object()


def _is_tag(part: Any, node: Any, list_item: bool, key: str | int | None) -> bool:
    """Pydantic inserts union tags into locs: a layer's op key or a constraint's kind key (both
    list items), or a source's or column's ``type`` value. A column named ``range`` under
    ``data.columns`` is a key, not a tag: it is no list item. The form of a
    fixed_combinations value (``list`` or ``mapping``) is a tag too."""
    if not isinstance(part, str):
        return False
    if key == "fixed_combinations" and part == combinations_form(node):
        return True
    if not isinstance(node, dict):
        return False
    if list_item and part in (op_of(node), constraint_of(node)):
        return True
    return part not in node and node.get("type") == part


def _fields_at(root: type[BaseModel], path: PathKey, raw_root: Any) -> list[str]:
    """Field names of the model that sits at ``path``, found by walking annotations.

    A list index, or a key of a mapping field (a column name under ``data.columns``), steps
    into the field's items and keeps the candidate models.
    """
    candidates: list[type[BaseModel]] = [root]
    raw: Any = raw_root
    keyed = False  # the next string part is a key of a mapping field, not a model field
    for part in path:
        if isinstance(part, str) and not keyed:
            model = _pick(candidates, raw)
            field = model.model_fields.get(part) if model else None
            if field is None:
                return []
            candidates = _models_in(field.annotation)
            keyed = _is_mapping(field.annotation)
        else:
            keyed = False
        raw = _child(raw, part)
    model = _pick(candidates, raw)
    return list(model.model_fields) if model else []


def _child(raw: Any, part: str | int) -> Any:
    if isinstance(raw, dict) and isinstance(part, str):
        return raw.get(part)
    if isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
        return raw[part]
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model inside an annotation such as ``list[Layer] | None``."""
    stack, found = [annotation], []
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            found.append(item)
        else:
            stack.extend(typing.get_args(item))
    return found


def _is_mapping(annotation: Any) -> bool:
    """Whether an annotation such as ``Annotated[dict[str, Column], ...] | None`` is a dict."""
    stack = [annotation]
    while stack:
        item = stack.pop()
        if typing.get_origin(item) is dict:
            return True
        if typing.get_origin(item) is not None:
            stack.extend(typing.get_args(item))
    return False


def _pick(models: list[type[BaseModel]], raw: Any) -> type[BaseModel] | None:
    """The union member a raw mapping means: by its layer op key, its constraint kind key or
    its ``type`` value."""
    if len(models) == 1:
        return models[0]
    if not isinstance(raw, dict):
        return None
    op, constraint = op_of(raw), constraint_of(raw)
    for model in models:
        if op is not None and model is LAYER_TYPES.get(op):
            return model
        if constraint is not None and model is CONSTRAINT_TYPES.get(constraint):
            return model
        type_field = model.model_fields.get("type")
        if type_field is not None and raw.get("type") in typing.get_args(type_field.annotation):
            return model
    return None


def _retired_choice(error: dict[str, Any], value: Any, field: str | int) -> RetiredChoice | None:
    """The retired value a literal error is about, if every value it could mean is allowed."""
    if error["type"] != "literal_error" or not isinstance(value, str):
        return None
    retired = RETIRED_CHOICES.get(value.lower())
    allowed = re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected", "")))
    if retired is None or retired.field != field or not set(retired.meanings) <= set(allowed):
        return None
    return retired


def _bound_fix(error: dict[str, Any], value: Any, field: str | int) -> str | None:
    """For a number out of bounds that another convention would write this way: the number in
    ganspec's. Only label_smoothing so far: references write the real label (0.9), ganspec the
    amount taken off it (0.1)."""
    if field != "label_smoothing" or error["type"] != "less_than_equal":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 < value < 1:
        return None
    amount = round(1 - value, 6)
    return (
        f"label_smoothing: {amount:g} (ganspec's label_smoothing is the amount taken off the "
        f"real label: {amount:g} makes real targets {value:g})"
    )


def _choice_fix(error: dict[str, Any], value: Any, field: str | int) -> str | None:
    """For a word outside a fixed set (a loss, an activation, a source type): the closest one."""
    ctx = error.get("ctx") or {}
    if error["type"] == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        given = value
    elif error["type"] == "union_tag_invalid":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        given, field = ctx.get("tag"), "type"
    else:
        return None
    if not isinstance(given, str) or not allowed:
        return None
    by_lower = {choice.lower(): choice for choice in allowed}  # RealESRGAN_x4plus, realesr-...
    match = difflib.get_close_matches(given.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"{field}: {by_lower[match[0]]}" if match else None


# pydantic error type -> what the value should have been.
_EXPECTED_TYPE = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "finite_number": "a finite number",
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}
# pydantic bound error type -> (verdict, wording, ctx key).
_BOUNDS = {
    "greater_than_equal": ("too small", "at least", "ge"),
    "greater_than": ("too small", "greater than", "gt"),
    "less_than_equal": ("too large", "at most", "le"),
    "less_than": ("too large", "less than", "lt"),
}


def _describe_value_error(error: dict[str, Any], value: Any) -> str:
    kind = error["type"]
    shown = _show(value)
    ctx = error.get("ctx") or {}
    if kind in _EXPECTED_TYPE:
        return f"expected {_EXPECTED_TYPE[kind]}, got {shown}"
    if kind in _BOUNDS:
        verdict, wording, key = _BOUNDS[kind]
        return f"{shown} is {verdict}: must be {wording} {ctx[key]}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "one of the allowed values"))
        expected = expected.replace("True", "true").replace("False", "false")
        return f"got {shown}; expected {expected}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = ctx.get("expected_tags", "")
        tag = ctx.get("tag")
        return (
            f"unknown type {elide(repr(tag))}; expected one of {tags}"
            if tag
            else f"expected {tags}"
        )
    if kind in ("too_short", "too_long"):
        low, high = ctx.get("min_length"), ctx.get("max_length")
        if kind == "too_short" or high is None:
            wanted = f"at least {low}" if high is None or low != high else str(low)
        else:
            wanted = f"at most {high}"
        return f"expected {wanted} items, got {ctx.get('actual_length', shown)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']} (got {shown})"


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    if isinstance(value, str):
        return f"text '{value[:40]}'" + ("..." if len(value) > 40 else "")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "a number too large to represent"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_schema(document: SourceDocument) -> SchemaResult:
    """Validate the raw mapping; returns the Spec, or the diagnostics that prevent one."""
    mapper = _Mapper(document)
    diagnostics = [
        mapper.diagnostic(
            "GS102",
            f"duplicate key '{elide(str(dup.path[-1]))}' (first at line {dup.first.line}); "
            "YAML would silently keep the last one",
            dup.path,
            key=True,
            fix="keep one of them",
            position=dup.again,
        )
        for dup in document.duplicates
    ]
    data = document.data
    version = data.get("ganspec", _MISSING)
    # `type(...) is int`: YAML `true` and `1.0` compare equal to 1 but are not a version.
    if version is not _MISSING and (type(version) is not int or version != SPEC_VERSION):
        diagnostics.append(
            mapper.diagnostic(
                "GS106",
                f"spec format version {_show(version)} is not supported; this ganspec reads "
                f"version {SPEC_VERSION}",
                ("ganspec",),
                fix=f"ganspec: {SPEC_VERSION}",
            )
        )
        return SchemaResult(None, diagnostics)
    kind = data.get("kind", _MISSING)
    if kind is _MISSING:
        diagnostics.append(
            mapper.diagnostic(
                "GS105",
                f"required key 'kind' is missing; one of: {', '.join(SPEC_KINDS)}",
                ("kind",),
                fix="kind: image",
            )
        )
        return SchemaResult(None, diagnostics)
    if not isinstance(kind, str) or kind not in SPEC_KINDS:
        close = (
            difflib.get_close_matches(kind.lower(), list(SPEC_KINDS), n=1, cutoff=0.6)
            if isinstance(kind, str) and len(kind) <= _LONGEST_WORD
            else []
        )
        diagnostics.append(
            mapper.diagnostic(
                "GS106",
                f"kind {_show(kind)} is not supported by this ganspec; supported: "
                f"{', '.join(SPEC_KINDS)}" + (f"; did you mean '{close[0]}'?" if close else ""),
                ("kind",),
                fix=f"kind: {close[0]}" if close else None,
            )
        )
        return SchemaResult(None, diagnostics)
    model = SPEC_KINDS[kind]
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        sample, left_out = _sample(exc.errors(include_url=False))
        located = [(mapper.resolve(error["loc"]), error) for error in sample]
        # Convert everything first: a did-you-mean found late still silences an earlier
        # "missing" error for the key the typo meant.
        converted = [
            (path, mapper.convert(path, value, error, model)) for (path, value), error in located
        ]
        not_shown: Counter[str] = Counter()
        seen: set[tuple[str, str]] = set()
        for (path, diag), error in zip(converted, sample, strict=True):
            not_shown[diag.code] += left_out.pop(_shape(error), 0)
            if diag.code == "GS105" and (path[:-1], path[-1]) in mapper.suggested:
                continue
            if (diag.code, diag.path) not in seen:
                seen.add((diag.code, diag.path))
                diagnostics.append(diag)
        return SchemaResult(None, diagnostics, +not_shown)
    return SchemaResult(None if diagnostics else spec, diagnostics)


def _shape(error: dict[str, Any]) -> tuple[Any, ...]:
    """What an error is, whatever list item or unknown key it is about: ``ignore[7]`` and
    ``ignore[8]`` alike, and ``x1`` and ``x2`` when neither is a key the schema knows."""
    loc = [0 if type(part) is int else part for part in error["loc"]]
    if error["type"] == "extra_forbidden" and loc:
        loc[-1] = 0
    return (error["type"], *loc)


def _sample(errors: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Counter[tuple[Any, ...]]]:
    """The first errors of each shape, enough for ``cap_per_code``, and how many were left out.

    A list of 99,000 bad items is 99,000 errors of one shape; placing and wording each would
    take seconds to print 21 of them.
    """
    taken: Counter[tuple[Any, ...]] = Counter()
    left_out: Counter[tuple[Any, ...]] = Counter()
    sample = []
    for error in errors:
        shape = _shape(error)
        if taken[shape] > MAX_PER_CODE:
            left_out[shape] += 1
        else:
            taken[shape] += 1
            sample.append(error)
    return sample, left_out
