"""``validate --explain``: the expanded, checked layer table of both networks."""

from __future__ import annotations

from ganspec.rules.context import RuleContext
from ganspec.shapes import Trace, format_shape


def _table(title: str, result: Trace) -> list[str]:
    rows = [("#", "op", "parameters", "output")]
    rows += [(str(r.index), r.op, r.params, format_shape(r.out_shape)) for r in result.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{title} (input {format_shape(result.input_shape)})"]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append("  " + "  ".join([*cells, row[3]]))
    for problem in result.problems:
        if problem.fatal:
            lines.append(f"  !! layer {problem.index}: {problem.message} (trace stops here)")
    return lines


def explain(context: RuleContext) -> str:
    spec = context.spec
    pack = spec.discriminator.pack
    disc_title = "discriminator" + (f", pack {pack}" if pack > 1 else "")
    lines = [f"data: {format_shape(context.data_shape)} ({spec.data.source.type})", ""]
    lines += _table("generator", context.generator_trace)
    lines.append("")
    lines += _table(disc_title, context.discriminator_trace)
    return "\n".join(lines)
