"""What every tabular rule receives: the parsed spec, its folder, and one pass over its data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ganspec.spec.tabular import Column, CustomersSource, SklearnSource, TabularSpec
from ganspec.tabular.contract import private_columns
from ganspec.tabular.scan import Scan, scan_data
from ganspec.tabular.tables import SKLEARN_ROWS


@dataclass
class TabularContext:
    spec: TabularSpec
    folder: Path  # the spec file's folder: relative data paths start there

    @property
    def columns(self) -> dict[str, Column]:
        return self.spec.data.columns

    @cached_property
    def private(self) -> dict[str, str]:
        """Columns never learned (pii, privacy.sensitive), with why."""
        return private_columns(self.spec)

    @cached_property
    def scan(self) -> Scan:
        """The data checked against the contract: read once, on first use."""
        return scan_data(self.spec, self.folder)

    def real_rows(self) -> tuple[int, bool] | None:
        """Rows of the real table and whether that is exact (False: at least that many);
        None when the data could not be read."""
        source = self.spec.data.source
        if isinstance(source, CustomersSource):
            return source.rows, True
        if isinstance(source, SklearnSource):
            return SKLEARN_ROWS[source.name], True
        scan = self.scan
        if scan.rows == 0:
            return None
        return scan.rows, scan.complete

    def unlisted(self) -> Counter[str]:
        """Data findings counted beyond those worded, by code (for the summary's totals)."""
        return self.scan.unlisted if "scan" in self.__dict__ else Counter()
