"""The customers demo table: made from a seed, the same seed gives the same rows.

A small, realistic contract to learn: an id key, a signup/churn date pair (churn_date is
missing exactly when churned is false, and after signup_date otherwise), missing values,
categoricals with a fixed country/city pairing, credit limits in steps of 500, and two PII
columns (name, email). Standard library only, no other import: ganspec validates specs against
this table and rendered projects carry this file to train on the same one.

    python customers.py --rows 2000 --seed 0 --out customers.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from bisect import bisect
from collections.abc import Iterator
from datetime import date
from itertools import accumulate
from pathlib import Path

COLUMNS = (
    "customer_id",
    "name",
    "email",
    "age",
    "country",
    "city",
    "plan",
    "monthly_spend",
    "credit_limit",
    "support_tickets",
    "signup_date",
    "churned",
    "churn_date",
)
DATE_FORMAT = "%Y-%m-%d"
ID_REGEX = "C[0-9]{7}"
PLANS = ("basic", "standard", "premium")
PLAN_WEIGHTS = (5, 3, 2)
CITIES = {
    "US": ("New York", "Chicago", "Austin"),
    "DE": ("Berlin", "Munich"),
    "FR": ("Paris", "Lyon"),
    "GB": ("London", "Manchester"),
    "IN": ("Mumbai", "Bengaluru"),
    "BR": ("Sao Paulo",),
    "JP": ("Tokyo", "Osaka"),
}
COUNTRY_WEIGHTS = (30, 15, 12, 13, 14, 8, 8)
FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Bruno", "Chen", "Dara", "Elena", "Femi", "Grace", "Hiro",
    "Ines", "Jonas", "Kavya", "Lea", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa",
    "Sven", "Tariq", "Uma", "Victor", "Wen", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Almeida", "Becker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kumar", "Lopez", "Martin", "Nakamura", "Okafor", "Patel", "Rossi", "Silva",
    "Tanaka", "Walker", "Weber", "Yilmaz",
)  # fmt: skip
AGE = (18, 90)
SPEND = (5.0, 500.0)  # monthly_spend, 2 decimals, missing on SPEND_MISSING of the rows
SPEND_MISSING = 0.05
CREDIT_STEP = 500
CREDIT = (500, 20_000)
TICKETS = (0, 30)
SIGNUP = (date(2019, 1, 1), date(2023, 12, 31))
CHURN = (date(2019, 1, 2), date(2024, 12, 31))
CHURN_RATE = 0.22
MAX_ROWS = 9_999_999  # ids are C + 7 digits


def rows(seed: int, count: int) -> Iterator[tuple[object, ...]]:
    """``count`` rows in COLUMNS order as Python values (None where a value is missing).

    Draws use ``random()`` only (with bisect for weighted choices): fast, and the same on every
    Python version, since ``random()`` is.
    """
    if not 0 <= count <= MAX_ROWS:
        raise ValueError(f"rows must be between 0 and {MAX_ROWS}")
    uniform = random.Random(seed).random
    gauss = random.Random(seed + 1).gauss
    countries = tuple(CITIES)
    country_cut = list(accumulate(COUNTRY_WEIGHTS))
    plan_cut = list(accumulate(PLAN_WEIGHTS))
    signup_first, signup_days = SIGNUP[0].toordinal(), (SIGNUP[1] - SIGNUP[0]).days + 1
    churn_last = CHURN[1].toordinal()
    credit_steps = CREDIT[1] // CREDIT_STEP - CREDIT[0] // CREDIT_STEP + 1
    ages = AGE[1] - AGE[0] + 1
    for index in range(1, count + 1):
        first = FIRST_NAMES[int(uniform() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(uniform() * len(LAST_NAMES))]
        country = countries[bisect(country_cut, uniform() * country_cut[-1])]
        cities = CITIES[country]
        tier = bisect(plan_cut, uniform() * plan_cut[-1])
        spend = None
        if uniform() >= SPEND_MISSING:
            spend = round(min(SPEND[1], max(SPEND[0], gauss(40 + 60 * tier, 25))), 2)
        signup = signup_first + int(uniform() * signup_days)
        # Tickets: geometric, more for cheaper plans; churn likelier with more tickets.
        tickets = min(TICKETS[1], int(-math.log(1.0 - uniform()) / (0.6 - 0.15 * tier)))
        churned = uniform() < CHURN_RATE + 0.03 * tickets - 0.05 * tier
        churn = min(churn_last, signup + 14 + int(uniform() * 887)) if churned else None
        yield (
            f"C{index:07d}",
            f"{first} {last}",
            f"{first}.{last}{int(uniform() * 100)}@example.com".lower(),
            AGE[0] + int(uniform() * ages),
            country,
            cities[int(uniform() * len(cities))],
            PLANS[tier],
            spend,
            CREDIT[0] + CREDIT_STEP * int(uniform() * credit_steps),
            tickets,
            date.fromordinal(signup),
            churned,
            None if churn is None else date.fromordinal(churn),
        )


def cell(value: object) -> str:
    """A value as a CSV cell: empty when missing, dates in DATE_FORMAT, true/false."""
    return _CELL[type(value)](value)


_CELL = {
    type(None): lambda value: "",
    bool: lambda value: "true" if value else "false",
    date: date.isoformat,  # DATE_FORMAT
    float: lambda value: f"{value:.2f}",
    int: str,
    str: str,
}


def text_rows(seed: int, count: int) -> Iterator[list[str]]:
    """The rows as CSV cells, exactly as write_csv writes them."""
    formats = _CELL
    for row in rows(seed, count):
        yield [formats[type(value)](value) for value in row]


def write_csv(path: str | Path, seed: int, count: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(text_rows(seed, count))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the customers demo table as CSV.")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        write_csv(args.out, args.seed, args.rows)
    except (OSError, ValueError) as exc:
        print(f"customers.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
