"""Open a tabular spec's data as a header and a stream of records, with the standard library.

CSV is decoded line by line (so a byte that is not UTF-8 is reported with its line) and parsed
by ``csv``; Parquet goes through pyarrow when it is installed; scikit-learn's tables are read
from the files its package ships (sklearn itself is never imported); the customers table is
generated. Nothing is read whole: records stream, lines are bounded.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ganspec.diagnostics import DataLocation, elide
from ganspec.source import PathKey
from ganspec.spec.tabular import (
    CsvSource,
    CustomersSource,
    ParquetSource,
    SklearnSource,
    TabularSpec,
)
from ganspec.tabular import customers

MAX_LINE_BYTES = 1 << 20  # one CSV line; a longer one is no table ganspec can check
_CAP = f"{MAX_LINE_BYTES >> 20} MiB"
PARQUET_BATCH = 4096

# scikit-learn's bundled tables: files under sklearn/datasets/data and the column names its
# loaders give them (as_frame=True; load_diabetes with scaled=False), target last.
WINE = (
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
    "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
    "od280/od315_of_diluted_wines", "proline",
)  # fmt: skip
IRIS = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")
_CANCER_FEATURES = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave points", "symmetry", "fractal dimension",
)  # fmt: skip
BREAST_CANCER = (
    *(f"mean {name}" for name in _CANCER_FEATURES),
    *(f"{name} error" for name in _CANCER_FEATURES),
    *(f"worst {name}" for name in _CANCER_FEATURES),
)
DIABETES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
SKLEARN_COLUMNS: dict[str, tuple[str, ...]] = {
    "wine": (*WINE, "target"),
    "iris": (*IRIS, "target"),
    "breast_cancer": (*BREAST_CANCER, "target"),
    "diabetes": (*DIABETES, "target"),
}
# Rows of each bundled table (load_* docs); GS706 needs them before any file is read.
SKLEARN_ROWS = {"wine": 178, "iris": 150, "breast_cancer": 569, "diabetes": 442}
_SKLEARN_FILES = {
    "wine": "wine_data.csv",
    "iris": "iris.csv",
    "breast_cancer": "breast_cancer.csv",
}

Record = tuple[int | None, list[Any]]  # (line the record starts on, cells)


class Unreadable(Exception):
    """The data cannot be read as a table: said once, with where and what to do."""

    def __init__(
        self,
        message: str,
        fix: str | None = None,
        where: DataLocation | None = None,
        path: PathKey = ("data", "source"),
    ) -> None:
        super().__init__(message)
        self.message, self.fix, self.where, self.path = message, fix, where, path


@dataclass
class Table:
    """A table's column names and its records, read lazily (iterating may raise Unreadable)."""

    label: str  # the file as messages show it
    header: list[str]
    header_at: DataLocation
    records: Iterator[Record]
    null_values: frozenset[str] = frozenset()
    lines: bool = True  # records carry CSV line numbers (else only row numbers)


def open_table(spec: TabularSpec, folder: Path) -> Table:
    """The table ``spec.data.source`` names; relative paths start at the spec's ``folder``."""
    source = spec.data.source
    if isinstance(source, CsvSource):
        return _csv_table(source, folder)
    if isinstance(source, ParquetSource):
        return _parquet_table(source, folder)
    if isinstance(source, SklearnSource):
        return _sklearn_table(source)
    assert isinstance(source, CustomersSource)
    return _customers_table(source, spec.seed)


def data_file(folder: Path, written: str) -> Path:
    path = Path(written).expanduser()
    return path if path.is_absolute() else folder / path


def _regular_file(path: Path) -> None:
    """Exists and is a plain file: a FIFO or a device would block or never end."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise Unreadable(
            f"no such file: {elide(str(path), 200)}",
            "fix data.source.path (relative paths start at the spec's folder)",
            path=("data", "source", "path"),
        ) from None
    except OSError as exc:
        raise Unreadable(
            f"cannot read {elide(str(path), 200)}: {exc.strerror or exc}",
            path=("data", "source", "path"),
        ) from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise Unreadable(
            f"{elide(str(path), 200)} is {what}; data.source.path names a data file",
            path=("data", "source", "path"),
        )


# --- CSV -------------------------------------------------------------------------------------


def _decoded_lines(handle: IO[bytes], label: str) -> Iterator[str]:
    """The file's lines as text, each decoded on its own so that a bad byte has a line."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1 and b"\r" in raw.rstrip(b"\r\n"):  # a lone CR inside the header
            raise Unreadable(
                "the file uses CR line endings (old Mac): its lines are not separated as CSV "
                "readers expect",
                "convert them, e.g. `tr '\\r' '\\n' < in.csv > out.csv`",
                where=DataLocation(label, line=1),
                path=("data", "source", "path"),
            )
        if len(raw) > MAX_LINE_BYTES:
            raise Unreadable(
                f"line {number} is longer than ganspec checks ({_CAP})",
                where=DataLocation(label, line=number),
                path=("data", "source", "path"),
            )
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            raise Unreadable(
                f"line {number} is not UTF-8 text (byte 0x{byte:02x} at column "
                f"{exc.start + 1}): the file has another encoding",
                "save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`",
                where=DataLocation(label, line=number),
                path=("data", "source", "path"),
            ) from None
        yield text


def _csv_table(source: CsvSource, folder: Path) -> Table:
    path = data_file(folder, source.path)
    _regular_file(path)
    label = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed when the records end
    except OSError as exc:
        raise Unreadable(
            f"cannot read {elide(label, 200)}: {exc.strerror or exc}",
            path=("data", "source", "path"),
        ) from None
    # csv's own field cap (128 KiB) would refuse valid files: ganspec's cap is its line cap.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    lines = _decoded_lines(handle, label)
    reader = csv.reader(lines, delimiter=source.delimiter, strict=True)
    try:
        header = _next_record(reader, label)
        while header == []:  # blank lines before the header
            header = _next_record(reader, label)
    except BaseException:
        handle.close()
        raise
    if header is None:
        handle.close()
        raise Unreadable(
            f"{elide(label, 200)} is empty: a CSV file starts with a header row naming its columns",
            where=DataLocation(label),
            path=("data", "source", "path"),
        )
    return Table(
        label,
        header,
        DataLocation(label, line=reader.line_num),
        _csv_records(reader, handle, label),
        frozenset(source.null_values),
    )


def _next_record(reader: Any, label: str) -> list[str] | None:
    """The next record, None at the end; a malformed one is Unreadable at its line."""
    start = reader.line_num + 1  # a quoted line break makes a record span lines
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        line = reader.line_num
        if "field larger than field limit" in str(exc):
            raise Unreadable(
                f"the record that starts on line {start} has a field longer than ganspec "
                f"checks ({_CAP}); if that field should be short, a quote in it is never closed",
                where=DataLocation(label, line=start),
                path=("data", "source", "path"),
            ) from None
        if "unexpected end of data" in str(exc):
            raise Unreadable(
                f"a quoted field opened on line {start} is never closed",
                'close the quote, or double a quote inside a quoted field ("")',
                where=DataLocation(label, line=start),
                path=("data", "source", "path"),
            ) from None
        raise Unreadable(
            f"line {line} is not valid CSV: {exc}",
            'quote fields that hold the delimiter, a quote or a line break ("a,b")',
            where=DataLocation(label, line=line),
            path=("data", "source", "path"),
        ) from None


def _csv_records(reader: Any, handle: IO[bytes], label: str) -> Iterator[Record]:
    try:
        ended = reader.line_num
        while True:
            record = _next_record(reader, label)
            if record is None:
                return
            start, ended = ended + 1, reader.line_num
            if record:  # pandas skips blank lines too
                yield start, record
    finally:
        handle.close()


# --- Parquet ---------------------------------------------------------------------------------


def _parquet_table(source: ParquetSource, folder: Path) -> Table:
    path = data_file(folder, source.path)
    _regular_file(path)
    label = str(path)
    if importlib.util.find_spec("pyarrow") is None:
        raise Unreadable(
            "reading Parquet needs pyarrow, which is not installed here",
            "`pip install pyarrow`, or give the data as CSV (type: csv)",
            where=DataLocation(label),
        )
    import pyarrow.parquet as pq  # only here: validate stays light for every other source

    try:
        parquet = pq.ParquetFile(path)
        header = list(parquet.schema_arrow.names)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise Unreadable(
            f"{elide(label, 200)} is not a readable Parquet file: {elide(str(exc), 200)}",
            where=DataLocation(label),
            path=("data", "source", "path"),
        ) from None
    return Table(
        label,
        header,
        DataLocation(label),
        _parquet_records(parquet, label),
        lines=False,
    )


def _parquet_records(parquet: Any, label: str) -> Iterator[Record]:
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
            columns = [column.to_pylist() for column in batch.columns]
            for cells in zip(*columns, strict=True):
                yield None, list(cells)
    except Unreadable:
        raise
    except Exception as exc:
        raise Unreadable(
            f"{elide(label, 200)} cannot be read to the end: {elide(str(exc), 200)}",
            where=DataLocation(label),
            path=("data", "source", "path"),
        ) from None


# --- scikit-learn's bundled tables -----------------------------------------------------------


def sklearn_data_folder() -> Path:
    """sklearn/datasets/data of the installed scikit-learn, found without importing it."""
    found = importlib.util.find_spec("sklearn")
    if found is None or not found.submodule_search_locations:
        raise Unreadable(
            "scikit-learn is not installed: its bundled tables are read from its package",
            "`pip install scikit-learn`, or give the data as a file (type: csv)",
            path=("data", "source", "name"),
        )
    return Path(next(iter(found.submodule_search_locations))) / "datasets" / "data"


def _sklearn_table(source: SklearnSource) -> Table:
    folder = sklearn_data_folder()
    names = list(SKLEARN_COLUMNS[source.name])
    if source.name == "diabetes":
        data, target = folder / "diabetes_data_raw.csv.gz", folder / "diabetes_target.csv.gz"
        for path in (data, target):
            _bundled(path)
        label = str(data)
        return Table(label, names, DataLocation(label), _diabetes_records(data, target, label))
    path = folder / _SKLEARN_FILES[source.name]
    _bundled(path)
    label = str(path)
    # The first line holds sample and feature counts and the class names, not column names.
    return Table(label, names, DataLocation(label), _bundled_csv_records(path, label))


def _bundled(path: Path) -> None:
    if not path.is_file():
        raise Unreadable(
            f"scikit-learn's file {elide(str(path), 200)} is missing: a partial install?",
            "reinstall scikit-learn",
            path=("data", "source", "name"),
        )


def _bundled_csv_records(path: Path, label: str) -> Iterator[Record]:
    with open(path, "rb") as handle:
        reader = csv.reader(_decoded_lines(handle, label))
        _next_record(reader, label)
        ended = reader.line_num
        while (record := _next_record(reader, label)) is not None:
            start, ended = ended + 1, reader.line_num
            if record:
                yield start, record


def _diabetes_records(data: Path, target: Path, label: str) -> Iterator[Record]:
    with gzip.open(data, "rt", encoding="ascii") as rows, gzip.open(target, "rt") as targets:
        for number, (row, value) in enumerate(zip(rows, targets, strict=False), start=1):
            yield number, [*row.split(), value.strip()]


# --- the customers demo table ----------------------------------------------------------------


def customers_label(source: CustomersSource, seed: int) -> str:
    return f"customers(seed={seed}, rows={source.rows})"


def _customers_table(source: CustomersSource, seed: int) -> Table:
    label = customers_label(source, seed)
    records = ((None, cells) for cells in customers.text_rows(seed, source.rows))
    return Table(
        label,
        list(customers.COLUMNS),
        DataLocation(label),
        records,
        frozenset({""}),
        lines=False,
    )
