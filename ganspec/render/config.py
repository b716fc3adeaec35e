"""The rendered project's ``config.yaml``: the spec's settings, defaults made explicit.

The project's code reads this file at run time, so a user tunes a run by editing it rather
than re-rendering. It keeps the spec's keys with every default filled in, so what the user
wrote, what ganspec checked and what the code reads agree; the networks' structure is not
here but written out in models.py.
"""

from __future__ import annotations

from typing import Any

import yaml

from ganspec.spec import Spec

# Spec keys that describe the spec itself rather than the run (validate's memory budget
# included: the project's code never reads it).
SPEC_ONLY_KEYS: dict[str, object] = {
    "ganspec": True,
    "kind": True,
    "ignore": True,
    "description": True,
    "training": {"memory_budget"},
}
# The networks are literal code in models.py; config.yaml keeps only what other modules read.
NETWORK_STRUCTURE: dict[str, object] = {
    "generator": True,
    "discriminator": {"layers", "spectral_norm", "patch", "init"},
}


def config_data(spec: Spec) -> dict[str, Any]:
    data = spec.model_dump(mode="json", exclude={**SPEC_ONLY_KEYS, **NETWORK_STRUCTURE})
    data["data"]["shape"] = {k: v for k, v in data["data"]["shape"].items() if v is not None}
    if data.get("training", {}).get("amp") == "off":  # train.py then has no mixed precision
        del data["training"]["amp"]
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
        f"# {spec.name}: the spec's settings, read by the code at run time.\n"
        "# Edit values here to tune a run; the networks are written out in models.py.\n"
    )
    body = yaml.dump(config_data(spec), Dumper=_ConfigDumper, sort_keys=False, width=200)
    return header + body
