"""The rendered project's ``config.yaml``: every number of the spec, defaults made explicit.

The project's code reads this file at run time, so a user tunes a run by editing it rather
than re-rendering. It is the spec's own structure (same keys, same layer mappings) with every
default filled in, so what the user wrote, what ganspec checked and what the code reads agree.
"""

from __future__ import annotations

from typing import Any

import yaml

from ganspec.spec import Spec
from ganspec.spec.layers import LayerOptions, op_of

# Spec keys that describe the spec itself rather than the run (validate's memory budget
# included: the project's code never reads it).
SPEC_ONLY_KEYS: dict[str, object] = {
    "ganspec": True,
    "kind": True,
    "ignore": True,
    "description": True,
    "training": {"memory_budget"},
}


def _layer(layer: LayerOptions) -> dict[str, Any]:
    """A layer with its op key first and every op parameter explicit.

    The shared options (norm, affine, act, leaky_slope, dropout, spectral_norm) appear only when
    they differ from their defaults (none, true, none, 0.2, 0.0, the network's setting), which the
    project's model builder applies, so each layer stays one readable line.
    """
    op = op_of(layer)
    dumped = layer.model_dump(mode="json")
    shared = layer.model_dump(
        mode="json", include=set(LayerOptions.model_fields), exclude_defaults=True
    )
    if layer.act != "leaky_relu":
        shared.pop("leaky_slope", None)
    own = {k: v for k, v in dumped.items() if k not in LayerOptions.model_fields and k != op}
    return {op: dumped[op], **own, **shared}


def config_data(spec: Spec) -> dict[str, Any]:
    data = spec.model_dump(mode="json", exclude=SPEC_ONLY_KEYS)
    data["data"]["shape"] = {k: v for k, v in data["data"]["shape"].items() if v is not None}
    for network in ("generator", "discriminator"):
        data[network]["layers"] = [_layer(layer) for layer in getattr(spec, network).layers]
    return data


class _ConfigDumper(yaml.SafeDumper):
    """Block style for sections, flow style for leaf mappings and lists (one layer per line)."""


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.Node:
    leaf = all(not isinstance(v, (dict, list)) or _flat_list(v) for v in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=leaf)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=_flat_list(value))


def _flat_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


_ConfigDumper.add_representer(dict, _represent_dict)
_ConfigDumper.add_representer(list, _represent_list)
_ConfigDumper.add_representer(tuple, _represent_list)


def config_yaml(spec: Spec) -> str:
    header = (
        f"# {spec.name}: every number of the spec, read by the code at run time.\n"
        "# Edit values here to tune a run; re-render from the spec to change its structure.\n"
    )
    body = yaml.dump(config_data(spec), Dumper=_ConfigDumper, sort_keys=False, width=200)
    return header + body
