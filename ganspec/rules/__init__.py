"""Every rule family, registered on import."""

from ganspec.rules import (  # noqa: F401 - importing registers the rules
    data_rules,
    project_rules,
    protocol_rules,
    schema_rules,
    shape_rules,
    superres_rules,
    tabular_data_rules,
    tabular_rules,
    training_rules,
)
from ganspec.rules.registry import RULES, Finding, Rule

__all__ = ["RULES", "Finding", "Rule"]
