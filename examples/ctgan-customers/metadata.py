"""The SDV 2.0 metadata of customers, written out: every learned column with the type the spec
declares, never SDV's auto-detection (which takes a city for personal data and replaces it).
evaluate.py scores with it, and the CTGAN synthesizer learns with it.
"""

from __future__ import annotations

TABLE = "customers"
# Explicit SDV metadata: every learned column with the type the spec declares. Columns never
# learned (name, email) are not in it: they never reach the synthesizer.
METADATA = {
    "METADATA_SPEC_VERSION": "V1",
    "tables": {
        TABLE: {
            "primary_key": "customer_id",
            "columns": {
                "customer_id": {"sdtype": "id", "regex_format": "C[0-9]{7}"},
                "age": {"sdtype": "numerical"},  # int: data.py's dtype tells SDV
                "country": {"sdtype": "categorical"},
                "city": {"sdtype": "categorical"},
                "plan": {"sdtype": "categorical"},
                "monthly_spend": {"sdtype": "numerical"},  # float: data.py's dtype tells SDV
                "credit_limit": {"sdtype": "numerical"},  # int: data.py's dtype tells SDV
                "support_tickets": {"sdtype": "numerical"},  # int: data.py's dtype tells SDV
                "signup_date": {"sdtype": "datetime"},  # parsed by data.py from %Y-%m-%d
                "churned": {"sdtype": "boolean"},
                "churn_date": {"sdtype": "datetime"},  # parsed by data.py from %Y-%m-%d
            },
        }
    },
}
