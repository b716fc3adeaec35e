"""Measure how fast ``ganspec validate`` starts, runs and exits, and how much memory it takes.

What it measures, in one run, interleaved round by round (A, B, C, A, B, C, ...) so that machine
noise falls on every command alike:

  (a) ``python -c pass``                              the bare interpreter (baseline)
  (b) ``python -m ganspec validate SPEC``
  (c) ``ganspec validate SPEC``                       the installed console script, when it sits
                                                      next to ``sys.executable`` (skipped otherwise)

For each child process it records the wall time (``time.perf_counter`` around start and reap) and
that child's own peak resident set size (``ru_maxrss`` from ``os.wait4``; KiB on Linux, bytes on
macOS; reported here in MiB). It prints median, min and p90 wall time, median peak RSS, the
difference and ratio against the baseline, and PASS/FAIL against the targets (stated for a 2-core
CPU): median wall time of (b) at most 0.35 s, peak RSS of (b) at most 80 MiB (the largest peak
over all runs is compared).

It also runs ``python -X importtime -m ganspec validate SPEC`` once, lists the ten slowest imports
by cumulative time (and the ten slowest by self time), and says whether ``torch`` (or any
``torch.*`` module) was imported: validate must never import it.

Each command runs once unmeasured first (warm-up: page cache, ``__pycache__``). The spec must be
valid: if validate exits non-zero, its output is printed and the script stops with an error.

Run it from anywhere (the default spec is found from this file's location, not the cwd)::

    .venv/bin/python benchmarks/validate_speed.py
    .venv/bin/python benchmarks/validate_speed.py --runs 51 --spec specs/wgan-gp-64.yaml
    .venv/bin/python benchmarks/validate_speed.py --check   # exit 1 on a failed target or torch
    .venv/bin/python benchmarks/validate_speed.py --json    # also print the figures as JSON

Exit status: 0 normally; 1 with ``--check`` when a target fails or torch is imported; 2 when the
validate command itself fails. Needs ``os.wait4`` (Linux, macOS).

Hostile inputs (``--worst``)
----------------------------
``--worst`` instead writes the worst inputs found for issue 9 into a temporary folder and runs
``python -m ganspec validate --format json`` on each, ``--runs`` times (default 3), reporting the
median wall time and peak RSS and checking them against the target for *any* input: under 2 s
and 200 MiB. Each run gets a hard timeout (a hang is a failure, not a wait) and an address-space
limit, so an old ganspec cannot take the machine down. The cases:

  anchor-key-800k      the issue's spec: a 400,000-character key anchored once, then used as a
                       key again 44,000 times (``? *k``), 796 KB
  anchor-key-1.9m      the same with a 1.9 MB key, repeated as often as the node limit allows
  ignore-99k-aliases   a preset plus ``ignore: [&c GS999, *c, ...]`` with 99,000 aliases (398 KB)
  ignore-24k-unknown   24,000 aliases of an unknown code: reaches the GS104 flood
  ignore-24k-errors    24,000 aliases of an error code: reaches the GS107 flood
  unknown-keys-12k     12,000 distinct unknown keys: the GS103 flood with did-you-mean
  merge-bomb           ``<<: [*a, *a, ...]`` merge keys nested ten deep
  flat-list-2m         ``a: [1,1,1,...]``: a million values in 2 MB, no alias at all
  deep-flow-1m         ``a: [[[[...]]]]`` nested a million levels (2 MB)
  deep-block-seq       ``- - - - ...`` nested 900,000 levels on one line
  long-valid           two 200-layer networks, every layer option written, padded with
                       comments to 1.9 MB: validates with exit 0
  dev-zero             ``/dev/zero``: endless NUL bytes
  dev-urandom          ``/dev/urandom``: endless random bytes, not UTF-8
  pipe-yes             ``<(yes 'a: 1')``: an endless pipe (``/dev/fd/N`` of a ``yes`` child)
  fifo-no-writer       a FIFO nobody writes to
  fifo-small-spec      a FIFO whose writer sends a preset: validates with exit 0

A tabular table (``--tabular``)
-------------------------------
``--tabular`` instead validates a kind: tabular spec against a large CSV file: the customers
demo table of ``--rows`` rows (default 100,000; ganspec/tabular/customers.py writes it, seed 0)
read by specs/ctgan-customers.yaml, ``--runs`` times (default 3). Two cases: the clean table
(exit 0), and the same table under a reversed date inequality, which every churned row breaks
(23,482 findings at seed 0, 20 of them worded; exit 1). It reports wall time, CPU time (user +
system, from ``os.wait4``: steadier than wall time on a shared machine) and peak RSS, against
targets stated per 100,000 rows on one core: CPU time at most 3 s, peak RSS at most 100 MiB::

    .venv/bin/python benchmarks/validate_speed.py --tabular
    .venv/bin/python benchmarks/validate_speed.py --tabular --rows 1000000 --keep /tmp/big
    /usr/bin/time -v .venv/bin/python -m ganspec validate /tmp/big/customers.yaml

Any one of them can be run by hand with ``/usr/bin/time -v`` (its "Maximum resident set size"
is the same ``ru_maxrss`` figure)::

    .venv/bin/python benchmarks/validate_speed.py --worst --keep /tmp/worst   # writes the files
    /usr/bin/time -v .venv/bin/python -m ganspec validate /tmp/worst/anchor-key-800k.yaml
    /usr/bin/time -v .venv/bin/python -m ganspec validate <(yes 'a: 1')
    .venv/bin/python benchmarks/validate_speed.py --worst --runs 5 --check
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO_ROOT / "specs" / "dcgan-64.yaml"

TARGET_WALL_S = 0.35
TARGET_RSS_MIB = 80.0
TARGET_CPUS = 2
FORBIDDEN_IMPORT = "torch"
TOP_IMPORTS = 10


@dataclass
class Command:
    """One measured command and its samples."""

    key: str
    label: str
    argv: list[str]
    wall_s: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)


@dataclass
class ImportRow:
    """One line of ``-X importtime`` output."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int


def maxrss_to_mib(ru_maxrss: int) -> float:
    """Convert ``ru_maxrss`` to MiB: it is bytes on macOS and KiB on Linux and most others."""
    if sys.platform == "darwin":
        return ru_maxrss / (1024 * 1024)
    return ru_maxrss / 1024


def run_once(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Run ``argv`` once with output discarded; return (wall seconds, peak RSS MiB, exit code).

    The child is reaped with ``os.wait4`` so that the rusage is that child's alone.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    # Tell Popen the child is reaped, so it neither waits again nor warns on deletion.
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, maxrss_to_mib(rusage.ru_maxrss), proc.returncode


def run_captured(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` once, capturing its output as text."""
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


def require_success(label: str, result: subprocess.CompletedProcess[str]) -> None:
    """Stop with exit status 2, showing the output, when a validate run did not exit 0."""
    if result.returncode == 0:
        return
    print(f"error: {label} exited {result.returncode}; output follows.", file=sys.stderr)
    print(f"$ {' '.join(result.args)}", file=sys.stderr)
    if result.stdout:
        print(result.stdout.rstrip(), file=sys.stderr)
    if result.stderr:
        print(result.stderr.rstrip(), file=sys.stderr)
    sys.exit(2)


def percentile(values: list[float], q: float) -> float:
    """Percentile ``q`` (0..100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def parse_importtime(stderr: str) -> list[ImportRow]:
    """Parse ``-X importtime`` lines: ``import time: <self> | <cumulative> | <indented name>``."""
    rows: list[ImportRow] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|", 2)
        if len(parts) != 3:
            continue
        self_s, cumulative_s, name = parts
        try:
            self_us, cumulative_us = int(self_s), int(cumulative_s)
        except ValueError:  # the header line: "self [us] | cumulative | imported package"
            continue
        stripped = name.lstrip(" ")
        # The name column starts with one space; each nesting level adds two more.
        depth = (len(name) - len(stripped) - 1) // 2
        rows.append(ImportRow(stripped.rstrip(), self_us, cumulative_us, depth))
    return rows


def merge_rows(rows: list[ImportRow]) -> list[ImportRow]:
    """One row per module.

    A submodule imported before its parent package finished shows up twice (``import a.b`` first
    imports ``a``, which may import ``a.b`` itself; then the outer ``a.b`` line closes with almost
    no self time). Self times add up; the cumulative time is the larger, enclosing one.
    """
    by_name: dict[str, ImportRow] = {}
    for row in rows:
        seen = by_name.get(row.module)
        if seen is None:
            by_name[row.module] = ImportRow(row.module, row.self_us, row.cumulative_us, row.depth)
        else:
            seen.self_us += row.self_us
            seen.cumulative_us = max(seen.cumulative_us, row.cumulative_us)
            seen.depth = min(seen.depth, row.depth)
    return list(by_name.values())


def is_forbidden(module: str) -> bool:
    """True for ``torch`` itself and any of its submodules."""
    return module == FORBIDDEN_IMPORT or module.startswith(FORBIDDEN_IMPORT + ".")


def find_console_script() -> Path | None:
    """The ``ganspec`` console script in the interpreter's own bin directory, if installed."""
    bin_dir = Path(sys.executable).parent
    found = shutil.which("ganspec", path=str(bin_dir))
    return Path(found) if found else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `ganspec validate` against a bare interpreter, interleaved.",
    )
    parser.add_argument(
        "--runs", type=int, help="measured runs per command (default: 21; 3 with --worst)"
    )
    parser.add_argument(
        "--spec",
        type=Path,
        default=DEFAULT_SPEC,
        help=f"spec to validate (default: {DEFAULT_SPEC.relative_to(REPO_ROOT)} in the repository)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a target fails or validate imports torch (default: only print)",
    )
    parser.add_argument(
        "--json", action="store_true", help="also print all figures as one JSON object"
    )
    parser.add_argument(
        "--worst",
        action="store_true",
        help="time hostile inputs instead (see the module docstring); --check fails on a miss",
    )
    parser.add_argument("--case", action="append", help="with --worst: only this case (repeatable)")
    parser.add_argument(
        "--keep",
        type=Path,
        help="with --worst or --tabular: write the inputs into this folder and keep them",
    )
    parser.add_argument(
        "--tabular",
        action="store_true",
        help="validate specs/ctgan-customers.yaml against a large customers CSV instead",
    )
    parser.add_argument(
        "--rows", type=int, default=TABULAR_ROWS, help="with --tabular: rows of the CSV file"
    )
    args = parser.parse_args(argv)
    if args.worst and args.tabular:
        parser.error("--worst and --tabular are two separate runs")
    if args.runs is None:
        args.runs = 3 if args.worst or args.tabular else 21
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not hasattr(os, "wait4"):
        parser.error("os.wait4 is not available on this platform (Linux or macOS needed)")
    args.spec = args.spec.resolve()
    if not args.spec.is_file():
        parser.error(f"spec not found: {args.spec}")
    return args


# --- hostile inputs (--worst) -------------------------------------------------------------------

WORST_WALL_S = 2.0
WORST_RSS_MIB = 200.0
WORST_TIMEOUT_S = 60.0  # per run: past this the run counts as a hang
WORST_ADDRESS_SPACE = 4 << 30  # an unbounded read fails here instead of exhausting the machine
WORST_EXITS = {0, 1, 2}  # anything else (a crash, a signal, a timeout) fails the case


@dataclass
class Source:
    """What one run validates: a path, the fds the child must inherit, and a cleanup."""

    path: str
    pass_fds: tuple[int, ...] = ()
    cleanup: Callable[[], None] = lambda: None


@dataclass
class Case:
    """One hostile input; ``open_source`` is called afresh for every run (pipes are used up)."""

    name: str
    open_source: Callable[[], Source]
    expect_exit: int | None = None  # checked when set
    wall_s: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    exits: list[int] = field(default_factory=list)


def _file(path: Path) -> Callable[[], Source]:
    return lambda: Source(str(path))


def _pipe_from(argv: list[str]) -> Callable[[], Source]:
    """A ``<(command)``: the read end of a pipe that ``argv`` writes to, as ``/dev/fd/N``."""

    def open_source() -> Source:
        read_end, write_end = os.pipe()
        writer = subprocess.Popen(argv, stdout=write_end, stderr=subprocess.DEVNULL)
        os.close(write_end)

        def cleanup() -> None:
            os.close(read_end)
            writer.kill()
            writer.wait()

        return Source(f"/dev/fd/{read_end}", (read_end,), cleanup)

    return open_source


def _fifo(path: Path, text: str | None) -> Callable[[], Source]:
    """A FIFO at ``path``; with ``text``, a writer thread blocks in open() and then sends it."""

    def open_source() -> Source:
        if not path.exists():
            os.mkfifo(path)
        if text is None:
            return Source(str(path))

        def write() -> None:
            try:
                with open(path, "w", encoding="utf-8") as fifo:
                    fifo.write(text)
            except OSError:  # the reader gave up first
                pass

        thread = threading.Thread(target=write, daemon=True)
        thread.start()

        def cleanup() -> None:
            if thread.is_alive():  # unblock a writer whose reader never came
                with open(path, "rb", buffering=0) as unblock:
                    unblock.read()
            thread.join(5)

        return Source(str(path), (), cleanup)

    return open_source


def anchor_key_spec(key_chars: int, repeats: int) -> str:
    """``? &k kkk...`` once, then ``? *k`` ``repeats`` times: duplicate keys made by aliases."""
    return f"? &k {'k' * key_chars}\n: 1\n" + "? *k\n: 1\n" * repeats


def ignore_alias_spec(preset: str, code: str, aliases: int) -> str:
    """A preset whose ``ignore`` list is one code and ``aliases`` aliases of it."""
    return f"{preset.rstrip()}\nignore: [&c {code}{', *c' * aliases}]\n"


def unknown_keys_spec(preset: str, keys: int) -> str:
    return preset.rstrip() + "\n" + "".join(f"learning_rat{i}: 1\n" for i in range(keys))


def merge_bomb_spec(width: int, depth: int) -> str:
    """Each level merges the previous one ``width`` times: width**depth keys if unguarded."""
    rows = ["m0: &m0 {a: 1, b: 2, c: 3}"]
    for level in range(1, depth):
        sources = ", ".join([f"*m{level - 1}"] * width)
        rows.append(f"m{level}: &m{level} {{<<: [{sources}], x{level}: 1}}")
    return "\n".join(rows) + "\n"


def long_valid_spec(preset: str, pad_to: int) -> str:
    """dcgan-64 with 200-layer networks, every layer option written, padded with comments."""
    every = (
        "kernel: 3, stride: 1, padding: 1, dilation: 1, groups: 1, bias: false, norm: batch, "
        "act: leaky_relu, dropout: 0.1, spectral_norm: false"
    )
    generator = ["{reshape: [100, 1, 1]}", "{conv_transpose: 64, kernel: 4, stride: 1, padding: 0}"]
    generator += ["{conv_transpose: 64, kernel: 4, stride: 2, padding: 1, act: relu}"] * 4
    generator += ["{conv: 64, " + every + "}"] * 193
    generator += ["{conv: 3, kernel: 3, stride: 1, padding: 1, act: tanh}"]
    discriminator = ["{conv: 64, kernel: 4, stride: 2, padding: 1, act: leaky_relu}"]
    discriminator += ["{conv: 64, " + every + "}"] * 193
    discriminator += ["{conv: 64, kernel: 4, stride: 2, padding: 1, act: leaky_relu}"] * 3
    discriminator += ["{conv: 1, kernel: 4, stride: 1, padding: 0}", "{flatten: true}"]
    head, _, rest = preset.partition("discriminator:\n")
    tail = rest[rest.index("training:") :]
    init = "  init: {scheme: normal, std: 0.02}\n"
    text = head + "discriminator:\n  output: logits\n" + init + "  layers:\n"
    text += "".join(f"    - {layer}\n" for layer in discriminator)
    text += "generator:\n  latent_dim: 100\n" + init + "  layers:\n"
    text += "".join(f"    - {layer}\n" for layer in generator) + tail
    comment = "# " + "padding " * 12 + "\n"
    return text + comment * ((pad_to - len(text)) // len(comment))


def worst_cases(folder: Path) -> list[Case]:
    """Write the hostile inputs into ``folder``; one Case each."""
    preset = DEFAULT_SPEC.read_text(encoding="utf-8")
    files = {
        "anchor-key-800k": anchor_key_spec(400_000, 44_000),
        "anchor-key-1.9m": anchor_key_spec(1_880_000, 12_000),
        "ignore-99k-aliases": ignore_alias_spec(preset, "GS999", 99_000),
        "ignore-24k-unknown": ignore_alias_spec(preset, "GS999", 24_000),
        "ignore-24k-errors": ignore_alias_spec(preset, "GS201", 24_000),
        "unknown-keys-12k": unknown_keys_spec(preset, 12_000),
        "merge-bomb": merge_bomb_spec(10, 10),
        "flat-list-2m": "a: [" + "1," * 999_000 + "1]\n",
        "deep-flow-1m": "a: " + "[" * 999_000 + "]" * 999_000 + "\n",
        "deep-block-seq": "- " * 900_000 + "x\n",
        "long-valid": long_valid_spec(preset, 1_900_000),
    }
    cases = []
    for name, text in files.items():
        path = folder / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        cases.append(Case(name, _file(path), expect_exit=0 if name == "long-valid" else None))
    cases += [
        Case("dev-zero", _file(Path("/dev/zero")), expect_exit=2),
        Case("dev-urandom", _file(Path("/dev/urandom")), expect_exit=2),
        Case("pipe-yes", _pipe_from(["yes", "a: 1"]), expect_exit=2),
        Case("fifo-no-writer", _fifo(folder / "no-writer.fifo", None), expect_exit=2),
        Case("fifo-small-spec", _fifo(folder / "small.fifo", preset), expect_exit=0),
    ]
    return cases


def _limit_address_space() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORST_ADDRESS_SPACE, WORST_ADDRESS_SPACE))


def run_bounded(argv: list[str], pass_fds: tuple[int, ...]) -> tuple[float, float, int]:
    """Like ``run_once``, with a timeout (exit -9 past it) and an address-space limit."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=pass_fds,
        preexec_fn=_limit_address_space,  # only setrlimit runs between fork and exec
    )
    timer = threading.Timer(WORST_TIMEOUT_S, proc.kill)
    timer.start()
    try:
        _, status, rusage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, maxrss_to_mib(rusage.ru_maxrss), proc.returncode


@contextmanager
def _worst_folder(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="ganspec-worst-") as folder:
        yield Path(folder)


def main_worst(args: argparse.Namespace) -> int:
    """Run every hostile input ``args.runs`` times; print medians; check the targets."""
    python = sys.executable
    compileall.compile_dir(str(REPO_ROOT / "ganspec"), quiet=1)
    with _worst_folder(args.keep) as folder:
        cases = worst_cases(folder)
        if args.case:
            cases = [case for case in cases if case.name in args.case]
        for _ in range(args.runs):  # interleaved, as above
            for case in cases:
                source = case.open_source()
                argv = [python, "-m", "ganspec", "validate", source.path, "--format", "json"]
                try:
                    wall, rss, code = run_bounded(argv, source.pass_fds)
                finally:
                    source.cleanup()
                case.wall_s.append(wall)
                case.rss_mib.append(rss)
                case.exits.append(code)
        sizes = {case.name: _size(folder / f"{case.name}.yaml") for case in cases}
    print(
        f"ganspec validate on hostile inputs: median of {args.runs} runs each; python "
        f"{sys.version.split()[0]}; {os.cpu_count()} CPUs; targets: under {WORST_WALL_S} s and "
        f"{WORST_RSS_MIB:.0f} MiB, exit 0/1/2\n"
    )
    header = (
        f"{'case':<20} {'size':>9} {'median s':>9} {'max s':>7} {'RSS MiB':>8} {'exit':>5}  verdict"
    )
    print(header)
    print("-" * len(header))
    failed = []
    figures: dict[str, Any] = {}
    for case in cases:
        wall, rss = statistics.median(case.wall_s), statistics.median(case.rss_mib)
        exits = sorted(set(case.exits))
        ok = (
            max(case.wall_s) < WORST_WALL_S
            and max(case.rss_mib) < WORST_RSS_MIB
            and set(exits) <= WORST_EXITS
            and (case.expect_exit is None or exits == [case.expect_exit])
        )
        if not ok:
            failed.append(case.name)
        size = sizes[case.name]
        shown_exits = ",".join(str(code) for code in exits)
        print(
            f"{case.name:<20} {size:>9} {wall:9.2f} {max(case.wall_s):7.2f} {rss:8.1f} "
            f"{shown_exits:>5}  {'PASS' if ok else 'FAIL'}"
        )
        figures[case.name] = {
            "size": size,
            "wall_s": case.wall_s,
            "rss_mib": case.rss_mib,
            "exits": case.exits,
            "pass": ok,
        }
    if args.json:
        print()
        print(json.dumps(figures, indent=2))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1 if args.check else 0
    return 0


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1000:.0f} KB" if path.is_file() else "stream"


# --- a large tabular table (--tabular) ----------------------------------------------------------

TABULAR_ROWS = 100_000
TABULAR_CPU_S_PER_100K = 3.0
TABULAR_RSS_MIB = 100.0
CUSTOMERS_SPEC = REPO_ROOT / "specs" / "ctgan-customers.yaml"
CUSTOMERS_SOURCE = "source: {type: customers, rows: 2000}"


def run_cpu(argv: list[str]) -> tuple[float, float, float, int]:
    """(wall s, user + system CPU s, peak RSS MiB, exit code) of one bounded run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit_address_space,
    )
    timer = threading.Timer(WORST_TIMEOUT_S * 10, proc.kill)
    timer.start()
    try:
        _, status, rusage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = rusage.ru_utime + rusage.ru_stime
    return wall, cpu, maxrss_to_mib(rusage.ru_maxrss), proc.returncode


def tabular_cases(folder: Path, rows: int) -> list[tuple[str, Path, int]]:
    """(name, spec, expected exit): the customers CSV of ``rows`` rows, clean and broken."""
    table = folder / "customers.csv"
    generator = REPO_ROOT / "ganspec" / "tabular" / "customers.py"
    written = subprocess.run(
        [sys.executable, str(generator), "--rows", str(rows), "--seed", "0", "--out", str(table)],
        capture_output=True,
        text=True,
        check=False,
    )
    require_success("customers.py", written)
    text = CUSTOMERS_SPEC.read_text(encoding="utf-8")
    if CUSTOMERS_SOURCE not in text:
        raise SystemExit(f"error: {CUSTOMERS_SPEC} no longer says `{CUSTOMERS_SOURCE}`")
    clean = text.replace(CUSTOMERS_SOURCE, "source: {type: csv, path: customers.csv}")
    broken = clean.replace(
        "inequality: {low: signup_date, high: churn_date, strict: true}",
        "inequality: {low: churn_date, high: signup_date, strict: true}",
    )
    cases = [("clean", clean, 0), ("every-churn-breaks", broken, 1)]
    for name, spec_text, _ in cases:
        (folder / f"{name}.yaml").write_text(spec_text, encoding="utf-8")
    return [(name, folder / f"{name}.yaml", code) for name, _, code in cases]


def main_tabular(args: argparse.Namespace) -> int:
    """Validate a large customers CSV ``args.runs`` times per case; check CPU time and RSS."""
    python = sys.executable
    compileall.compile_dir(str(REPO_ROOT / "ganspec"), quiet=1)
    cpu_target = TABULAR_CPU_S_PER_100K * args.rows / 100_000
    results: dict[str, dict[str, Any]] = {}
    with _worst_folder(args.keep) as folder:
        cases = tabular_cases(folder, args.rows)
        size = _size(folder / "customers.csv")
        for _name, spec, _ in cases:  # warm-up: page cache, bytecode
            run_cpu([python, "-m", "ganspec", "validate", str(spec)])
        for _ in range(args.runs):
            for name, spec, _ in cases:
                wall, cpu, rss, code = run_cpu([python, "-m", "ganspec", "validate", str(spec)])
                entry = results.setdefault(name, {"wall_s": [], "cpu_s": [], "rss_mib": []})
                entry["wall_s"].append(wall)
                entry["cpu_s"].append(cpu)
                entry["rss_mib"].append(rss)
                entry.setdefault("exits", []).append(code)
    print(
        f"ganspec validate on a {args.rows:,}-row customers CSV ({size}): median of "
        f"{args.runs} runs each; python {sys.version.split()[0]}; {os.cpu_count()} CPUs; "
        f"targets: CPU under {cpu_target:.1f} s, peak RSS under {TABULAR_RSS_MIB:.0f} MiB\n"
    )
    header = f"{'case':<20} {'wall s':>7} {'CPU s':>6} {'RSS MiB':>8} {'exit':>5}  verdict"
    print(header)
    print("-" * len(header))
    failed = []
    for name, _, expected in cases:
        entry = results[name]
        ok = (
            max(entry["cpu_s"]) < cpu_target
            and max(entry["rss_mib"]) < TABULAR_RSS_MIB
            and set(entry["exits"]) == {expected}
        )
        entry["pass"] = ok
        if not ok:
            failed.append(name)
        print(
            f"{name:<20} {statistics.median(entry['wall_s']):7.2f} "
            f"{statistics.median(entry['cpu_s']):6.2f} {max(entry['rss_mib']):8.1f} "
            f"{','.join(str(c) for c in sorted(set(entry['exits']))):>5}  "
            f"{'PASS' if ok else 'FAIL'}"
        )
    if args.json:
        print()
        print(json.dumps({"rows": args.rows, "cases": results}, indent=2))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1 if args.check else 0
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worst:
        return main_worst(args)
    if args.tabular:
        return main_tabular(args)
    python = sys.executable
    spec = str(args.spec)
    cwd = REPO_ROOT
    # pip compiles an installed wheel to bytecode; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 (as on these machines) would recompile ganspec on every run.
    # Compile once so the figures are those of an installed ganspec.
    compileall.compile_dir(str(REPO_ROOT / "ganspec"), quiet=1)

    commands = [
        Command("baseline", "python -c pass", [python, "-c", "pass"]),
        Command(
            "module", "python -m ganspec validate", [python, "-m", "ganspec", "validate", spec]
        ),
    ]
    notes: list[str] = []
    script = find_console_script()
    if script is None:
        notes.append(f"console script skipped: no `ganspec` in {Path(python).parent}")
    else:
        commands.append(Command("script", "ganspec validate", [str(script), "validate", spec]))

    # Preflight: validate must succeed, and this run doubles as the warm-up.
    for cmd in commands:
        result = run_captured(cmd.argv, cwd)
        if cmd.key != "baseline":
            require_success(cmd.label, result)

    # Measured runs, interleaved round by round.
    for _ in range(args.runs):
        for cmd in commands:
            wall, rss, code = run_once(cmd.argv, cwd)
            if code != 0:
                require_success(cmd.label, run_captured(cmd.argv, cwd))
                print(f"error: {cmd.label} exited {code} during timing", file=sys.stderr)
                return 2
            cmd.wall_s.append(wall)
            cmd.rss_mib.append(rss)

    # One import-time profile of validate.
    importtime = run_captured([python, "-X", "importtime", "-m", "ganspec", "validate", spec], cwd)
    require_success("python -X importtime -m ganspec validate", importtime)
    rows = parse_importtime(importtime.stderr)
    merged = merge_rows(rows)
    by_cumulative = sorted(merged, key=lambda r: r.cumulative_us, reverse=True)[:TOP_IMPORTS]
    by_self = sorted(merged, key=lambda r: r.self_us, reverse=True)[:TOP_IMPORTS]
    forbidden = sorted({r.module for r in rows if is_forbidden(r.module)})
    import_total_us = sum(r.cumulative_us for r in rows if r.depth == 0)

    # Figures.
    figures: dict[str, Any] = {
        "python": python,
        "python_version": sys.version.split()[0],
        "platform": sys.platform,
        "cpu_count": os.cpu_count(),
        "spec": spec,
        "runs": args.runs,
        "commands": {},
    }
    baseline = commands[0]
    base_median_ms = statistics.median(baseline.wall_s) * 1000
    for cmd in commands:
        median_ms = statistics.median(cmd.wall_s) * 1000
        entry: dict[str, Any] = {
            "argv": cmd.argv,
            "wall_ms": {
                "median": median_ms,
                "min": min(cmd.wall_s) * 1000,
                "p90": percentile(cmd.wall_s, 90) * 1000,
                "max": max(cmd.wall_s) * 1000,
            },
            "peak_rss_mib": {"median": statistics.median(cmd.rss_mib), "max": max(cmd.rss_mib)},
        }
        if cmd is not baseline:
            entry["minus_baseline_ms"] = median_ms - base_median_ms
            entry["ratio_to_baseline"] = median_ms / base_median_ms
        figures["commands"][cmd.key] = entry

    module = figures["commands"]["module"]
    wall_ok = module["wall_ms"]["median"] <= TARGET_WALL_S * 1000
    rss_ok = module["peak_rss_mib"]["max"] <= TARGET_RSS_MIB
    figures["targets"] = {
        "cpu_count_assumed": TARGET_CPUS,
        "median_wall_s_max": TARGET_WALL_S,
        "peak_rss_mib_max": TARGET_RSS_MIB,
        "wall_pass": wall_ok,
        "rss_pass": rss_ok,
    }
    figures["imports"] = {
        "total_top_level_cumulative_ms": import_total_us / 1000,
        "forbidden_module": FORBIDDEN_IMPORT,
        "forbidden_imported": bool(forbidden),
        "forbidden_modules_seen": forbidden,
        "top_cumulative": [
            {
                "module": r.module,
                "cumulative_ms": r.cumulative_us / 1000,
                "self_ms": r.self_us / 1000,
            }
            for r in by_cumulative
        ],
        "top_self": [
            {
                "module": r.module,
                "self_ms": r.self_us / 1000,
                "cumulative_ms": r.cumulative_us / 1000,
            }
            for r in by_self
        ],
    }
    figures["notes"] = notes

    # Report.
    print(
        f"ganspec validate speed: {args.runs} interleaved runs each, spec {spec}\n"
        f"python {figures['python_version']} at {python}; {os.cpu_count()} CPUs "
        f"(targets are stated for {TARGET_CPUS})\n"
    )
    header = (
        f"{'command':<28} {'median ms':>10} {'min ms':>9} {'p90 ms':>9} "
        f"{'RSS MiB':>8} {'-base ms':>9} {'x base':>7}"
    )
    print(header)
    print("-" * len(header))
    for cmd in commands:
        e = figures["commands"][cmd.key]
        diff = f"{e['minus_baseline_ms']:9.1f}" if "minus_baseline_ms" in e else f"{'':>9}"
        ratio = f"{e['ratio_to_baseline']:7.2f}" if "ratio_to_baseline" in e else f"{'':>7}"
        print(
            f"{cmd.label:<28} {e['wall_ms']['median']:10.1f} {e['wall_ms']['min']:9.1f} "
            f"{e['wall_ms']['p90']:9.1f} {e['peak_rss_mib']['median']:8.1f} {diff} {ratio}"
        )
    for note in notes:
        print(f"note: {note}")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print("\ntargets for `python -m ganspec validate`:")
    print(
        f"  median wall time {module['wall_ms']['median'] / 1000:.3f} s <= {TARGET_WALL_S} s: "
        f"{verdict(wall_ok)}"
    )
    print(
        f"  peak RSS (max of runs) {module['peak_rss_mib']['max']:.1f} MiB <= "
        f"{TARGET_RSS_MIB:.0f} MiB: {verdict(rss_ok)}"
    )

    print(
        f"\nimports during validate (-X importtime, one run; "
        f"top-level total {import_total_us / 1000:.1f} ms):"
    )
    print(f"  {FORBIDDEN_IMPORT} imported: {'YES: ' + ', '.join(forbidden) if forbidden else 'no'}")
    print(f"  slowest {TOP_IMPORTS} by cumulative time:")
    for r in by_cumulative:
        print(
            f"    {r.cumulative_us / 1000:8.1f} ms cum {r.self_us / 1000:8.1f} ms self  {r.module}"
        )
    print(f"  slowest {TOP_IMPORTS} by self time:")
    for r in by_self:
        print(
            f"    {r.self_us / 1000:8.1f} ms self {r.cumulative_us / 1000:8.1f} ms cum   {r.module}"
        )

    if args.json:
        print()
        print(json.dumps(figures, indent=2))

    failed = not (wall_ok and rss_ok) or bool(forbidden)
    if args.check and failed:
        print("\ncheck failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
