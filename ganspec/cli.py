"""The ``ganspec`` command line. It only wires the stages together; each stage is its own module."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ganspec import __version__

FORMATS = click.Choice(["text", "json", "github"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganspec")
def cli() -> None:
    """Turn a GAN specification into a checked, runnable PyTorch project."""


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option(
    "--explain",
    is_flag=True,
    help="Print both networks' layer tables with shapes (tabular: the column table).",
)
def validate(spec: Path, fmt: str, explain: bool) -> None:
    """Check SPEC: schema, exact shape math and stability rules (kind: tabular: the data
    contract, checked against the data too, each finding with its spec line and data row).

    Exit 0 when there is no error (warnings allowed), 1 when there are errors, 2 when the file
    cannot be read as a spec.
    """
    from ganspec.diagnostics import format_github, format_json, format_text, printable, summary
    from ganspec.validate import validate_file

    report = validate_file(spec)
    if fmt == "json":
        click.echo(format_json(report.diagnostics))
    elif fmt == "github":
        if report.diagnostics:
            click.echo(format_github(report.diagnostics))
    else:
        if report.diagnostics:
            click.echo(format_text(report.diagnostics))
        totals = summary(report.diagnostics, report.ignored, report.not_shown)
        click.echo(f"{printable(report.file)}: {totals}")
    if explain and report.context is not None:
        from ganspec.explain import explain as explain_table

        # Machine-readable formats keep stdout clean: the table goes to stderr.
        click.echo("\n" + explain_table(report.context), err=fmt != "text")
    sys.exit(report.exit_code)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Project folder.")
@click.option("--force", is_flag=True, help="Render into a non-empty folder ganspec did not make.")
@click.option(
    "--overwrite-changed",
    is_flag=True,
    help="Also overwrite files you edited since the last render.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--agents",
    default="all",
    show_default=True,
    help="Agent files to write: claude,cursor,codex,copilot, all or none (PROMPT.md always).",
)
@click.option(
    "--smoke", is_flag=True, help="Then run `ganspec smoke` on --out; exit with its code."
)
@click.option(
    "--contracts-only",
    is_flag=True,
    help="Write only the spec's contracts (tests, config), PROMPT.md, agent files and "
    "pyproject: for code you or your AI write; `ganspec check` then proves it.",
)
def render(
    spec: Path,
    out: Path,
    force: bool,
    overwrite_changed: bool,
    dry_run: bool,
    agents: str,
    smoke: bool,
    contracts_only: bool,
) -> None:
    """Render SPEC into a runnable, tested PyTorch project in --out.

    Validates first and refuses a spec with errors. Files you changed since the last render are
    left alone and listed; --dry-run shows the plan without writing. With --smoke, a successful
    render is followed by its health check (see `ganspec smoke`), whose exit code is returned.
    Exit 1: the spec has errors or the folder cannot be written; 2: a bad manifest, or a valid
    spec of a kind ganspec cannot render yet, with nothing written.
    """
    from ganspec.diagnostics import format_text, printable, summary
    from ganspec.render.engine import parse_agents
    from ganspec.render.formatting import TemplateBug
    from ganspec.render.pipeline import NotRenderable, render_spec
    from ganspec.render.writer import BadManifest, RenderRefused

    try:
        chosen = parse_agents(agents)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        outcome = render_spec(
            spec,
            out,
            chosen,
            force=force,
            overwrite_changed=overwrite_changed,
            dry_run=dry_run,
            contracts_only=contracts_only,
        )
    except RenderRefused as exc:
        click.echo(f"ganspec render: {exc}", err=True)
        sys.exit(2 if isinstance(exc, BadManifest) else 1)
    except NotRenderable as exc:  # a valid spec this ganspec cannot render: not the spec's fault
        click.echo(f"ganspec render: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"ganspec render: cannot write{where}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    except TemplateBug as exc:
        click.echo(f"ganspec render: internal error: {exc}", err=True)
        sys.exit(3)
    report = outcome.report
    if report.diagnostics:
        click.echo(format_text(report.diagnostics), err=report.exit_code != 0)
    if outcome.plan is None:
        totals = summary(report.diagnostics, not_shown=report.not_shown)
        click.echo(f"{printable(report.file)}: {totals}; nothing rendered", err=True)
        sys.exit(report.exit_code)
    heading = "would render" if dry_run else "rendered"
    click.echo(f"{heading} {out}:\n{outcome.plan.describe()}")
    if not dry_run and contracts_only:
        if smoke:
            raise click.UsageError("--smoke needs the implementation: not with --contracts-only")
        click.echo(f"next: implement the interface in {out}/PROMPT.md, then `ganspec check {out}`")
        return
    if not dry_run:
        if smoke:
            sys.exit(_smoke(out, None, "auto", as_json=False, synthetic=False, timeout=None))
        install = "pip install torch==2.13.0 -e '.[test]'"  # sdv alone pulls a CUDA torch
        if report.spec is not None and report.spec.kind == "image":
            install = "pip install -e '.[test]'"
        click.echo(f"next: cd {out} && {install} && pytest -q")


def _not_nan(_ctx: click.Context, _param: click.Parameter, seconds: float | None) -> float | None:
    """FloatRange lets NaN through: it compares false with every bound."""
    if seconds is not None and seconds != seconds:
        raise click.BadParameter("not a number of seconds", param_hint="'--timeout'")
    return seconds


@cli.command("smoke")
@click.argument("project", type=click.Path(path_type=Path))
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    help="Training steps (health.py's default: 6; a tabular project: 2 epochs).",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps"]),
    default="auto",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print the health report as one JSON object.")
@click.option("--synthetic", is_flag=True, help="Random data of data.shape instead of data.source.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    callback=_not_nan,
    help="Seconds before health.py is stopped (exit 2; inf: never).  [default: 600]",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Move a run health.py did not write (or could not record) from its run folder into "
    "previous-<time>/ instead of stopping (exit 2).",
)
def smoke_command(
    project: Path,
    steps: int | None,
    device: str,
    as_json: bool,
    synthetic: bool,
    timeout: float | None,
    overwrite: bool,
) -> None:
    """Train a rendered PROJECT for a few steps and report on its health.

    Runs the project's own health.py (with its .venv or venv when it has one). Image projects:
    finite losses, G's output shape and range, non-zero gradients in both networks,
    D(real)/D(fake), a mode-collapse signal, seconds per step and peak memory. Tabular projects:
    --steps epochs, then finite losses, the contract on sampled rows, unique keys and a reload
    that samples the same rows. Exit 0 healthy, 1 unhealthy (the
    failing checks are named), 2 not a rendered project, no report, a malformed one, or none
    within --timeout. Stopped by a timeout or a signal, health.py's whole process group goes.
    """
    sys.exit(_smoke(project, steps, device, as_json, synthetic, timeout, overwrite))


def _smoke(
    project: Path,
    steps: int | None,
    device: str,
    as_json: bool,
    synthetic: bool,
    timeout: float | None,
    overwrite: bool = False,
) -> int:
    from ganspec.smoke import (
        DEFAULT_TIMEOUT_S,
        EXIT_NO_REPORT,
        Interrupted,
        SmokeError,
        check_project,
        format_report,
        run_smoke,
    )

    try:
        check_project(project)
        if not as_json:
            what = f"{steps} steps" if steps else "a few steps"
            click.echo(f"smoke: training {project} for {what} (device {device})...", err=True)
        result = run_smoke(
            project, steps, device, synthetic, timeout or DEFAULT_TIMEOUT_S, overwrite
        )
    except SmokeError as exc:
        click.echo(f"ganspec smoke: {exc}", err=True)
        return EXIT_NO_REPORT
    except Interrupted as exc:
        click.echo(f"ganspec smoke: {exc}; health.py was stopped", err=True)
        return 128 + exc.signum
    if as_json:
        click.echo(json.dumps(result.report, indent=2))
    else:
        click.echo(format_report(result.report, project))
    return result.exit_code


def _surface_names(
    _ctx: click.Context, _param: click.Parameter, names: tuple[str, ...]
) -> tuple[str, ...]:
    """``training-loop`` (or ``training_loop``) for the surface named ``training loop``."""
    from ganspec.contracts import SURFACES

    spaced = tuple(name.replace("-", " ").replace("_", " ").strip().lower() for name in names)
    unknown = [name for name, plain in zip(names, spaced, strict=True) if plain not in SURFACES]
    if unknown:
        choices = ", ".join(s.replace(" ", "-") for s in SURFACES)
        raise click.BadParameter(f"{', '.join(unknown)}: not one of {choices}")
    return spaced


@cli.command("check")
@click.argument("project", type=click.Path(path_type=Path))
@click.option(
    "--spec",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The spec to hold the code to (default: the one render kept in PROJECT/.ganspec/).",
)
@click.option(
    "--surface",
    "surfaces",
    multiple=True,
    callback=_surface_names,
    help="Only the contracts of this surface (repeatable): data-pipeline, discriminator, "
    "generator, training-loop, validation-protocol.",
)
@click.option(
    "--contract",
    "names",
    multiple=True,
    help="Only the contracts whose test name contains this text (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    callback=_not_nan,
    help="Seconds before the contract tests are stopped (exit 2).  [default: 1800]",
)
def check_command(
    project: Path,
    spec: Path | None,
    surfaces: tuple[str, ...],
    names: tuple[str, ...],
    fmt: str,
    timeout: float | None,
) -> None:
    """Run a spec's contract tests against the code in PROJECT, and report by surface.

    PROJECT may be a rendered project, a contracts-only one whose code you (or your AI) wrote,
    or your own repository laid out to the spec's interface (see its PROMPT.md). It is copied
    to a temporary folder and never changed; the spec's own tests and config replace the
    copy's. Runs with PROJECT's .venv or venv when it has one. Exit 0 all contracts pass, 1
    one fails (each is named under its surface with the reason), 2 PROJECT cannot be checked.
    """
    from ganspec.check import DEFAULT_TIMEOUT_S, Interrupted, Uncheckable, check, format_report

    try:
        result = check(project, spec, timeout or DEFAULT_TIMEOUT_S, surfaces, names)
    except Uncheckable as exc:
        click.echo(f"ganspec check: {exc}", err=True)
        sys.exit(2)
    except Interrupted as exc:
        click.echo(f"ganspec check: {exc}; the contract tests were stopped", err=True)
        sys.exit(128 + exc.signum)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(format_report(result))
    sys.exit(result.exit_code)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=Path))
def prompt(spec: Path) -> None:
    """Print SPEC's PROMPT.md (for piping into an AI coding tool)."""
    from ganspec.diagnostics import format_text
    from ganspec.render.pipeline import NotRenderable, prompt_for
    from ganspec.validate import validate_file

    report = validate_file(spec)
    if report.exit_code != 0:
        click.echo(format_text(report.diagnostics), err=True)
        sys.exit(report.exit_code)
    try:
        text = prompt_for(report)
    except NotRenderable as exc:
        click.echo(f"ganspec prompt: {exc}", err=True)
        sys.exit(2)
    click.echo(text, nl=False)


@cli.command()
@click.option("--preset", "preset_name", required=True, help="Preset name (see `ganspec presets`).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write; prints to stdout when omitted.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(preset_name: str, out: Path | None, force: bool) -> None:
    """Start a spec from a preset; it begins with a schema modeline for editors."""
    from ganspec.presets import SCHEMA_FILENAME, all_presets, with_schema_modeline

    presets = all_presets()
    if preset_name not in presets:
        import difflib

        close = difflib.get_close_matches(preset_name, list(presets), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise click.UsageError(f"no preset '{preset_name}'.{hint} Available: {', '.join(presets)}")
    text = with_schema_modeline(presets[preset_name].text())
    if out is None:
        click.echo(text, nl=False)
        click.echo(f"# (editor schema: ganspec schema > {SCHEMA_FILENAME})", err=True)
        return
    schema_path, schema = out.parent / SCHEMA_FILENAME, _schema_text()
    if out.name == SCHEMA_FILENAME:
        raise click.UsageError(f"{out}: {SCHEMA_FILENAME} is where the schema goes; name the spec")
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to overwrite it")
    if _differs(schema_path, schema) and not force:  # both checked before either is written
        raise click.UsageError(f"{schema_path} exists and differs; pass --force to overwrite it")
    _write(out, text)
    _write(schema_path, schema)
    click.echo(f"wrote {out} (preset {preset_name}) and {schema_path}")


def _differs(path: Path, text: str) -> bool:
    """Whether writing ``text`` to ``path`` would replace something else that is there.

    Only a regular file is read: a FIFO there would hold init until something wrote to it.
    """
    from ganspec.render.confined import read_regular

    try:
        current = read_regular(path)
    except OSError:  # a folder, a FIFO, a device, a link, unreadable...: not ours to replace
        return True
    return current is not None and current != text.encode("utf-8")


def _write(path: Path, text: str) -> None:
    from ganspec.render.confined import write_atomic

    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise click.UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _schema_text() -> str:
    from ganspec.spec import json_schema

    return json.dumps(json_schema(), indent=2) + "\n"


@cli.command()
def presets() -> None:
    """List the ready specs: name and what each is for."""
    from ganspec.presets import all_presets

    entries = all_presets()
    width = max(len(name) for name in entries)
    for name, preset in entries.items():
        click.echo(f"{name.ljust(width)}  {preset.summary}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec format (field descriptions included)."""
    click.echo(_schema_text(), nl=False)


@cli.command("rule")
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Document every rule.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def rule_command(code: str | None, show_all: bool, fmt: str) -> None:
    """Explain rule CODE (e.g. GS201): summary, why it matters, example, fix."""
    from ganspec.rules import RULES

    if show_all == bool(code):
        raise click.UsageError("give a rule code, or --all")
    if show_all:
        chosen = list(RULES.values())
    else:
        key = code.upper()  # type: ignore[union-attr]
        if key not in RULES:
            raise click.UsageError(f"no rule {code}; `ganspec rule --all` lists them")
        chosen = [RULES[key]]
    if fmt == "json":
        payload = [r.as_dict() for r in chosen]
        click.echo(json.dumps(payload if show_all else payload[0], indent=2))
    else:
        click.echo("\n".join(r.as_text() for r in chosen), nl=False)


def main() -> None:
    cli(prog_name="ganspec")
