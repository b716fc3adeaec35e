"""``validate --explain``: the expanded, checked layer table of both networks, and what
training them costs in memory."""

from __future__ import annotations

from ganspec.footprint import FLOAT, GB, Footprint, format_bytes, format_count
from ganspec.image.context import ImageContext
from ganspec.shapes import Trace, format_shape
from ganspec.superres.context import SuperresContext
from ganspec.superres.explain import explain_superres
from ganspec.tabular.context import TabularContext
from ganspec.tabular.explain import explain_tabular


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


def explain(context: ImageContext | TabularContext | SuperresContext) -> str:
    """The layer tables of an image spec; the column table of a tabular one; the network,
    weights and tile memory of a superres one."""
    if isinstance(context, TabularContext):
        return explain_tabular(context)
    if isinstance(context, SuperresContext):
        return explain_superres(context)
    spec = context.spec
    pack = spec.discriminator.pack
    disc_title = "discriminator" + (f", pack {pack}" if pack > 1 else "")
    lines = [f"data: {format_shape(context.data_shape)} ({spec.data.source.type})", ""]
    lines += _table("generator", context.generator_trace)
    lines.append("")
    lines += _table(disc_title, context.discriminator_trace)
    lines.append("")
    lines += _memory(context.footprint, spec.training.memory_budget)
    return "\n".join(lines)


def _memory(footprint: Footprint | None, budget: float) -> list[str]:
    """Per network: parameters, weights+gradients+optimizer state, activations per step."""
    if footprint is None:
        return ["memory: not estimated until both traces are complete"]
    lines = ["memory per training step (estimate)"]
    for network in footprint.networks:
        lines.append(
            f"  {network.name}: {format_count(network.parameters)} parameters "
            f"({format_bytes(network.parameters * FLOAT)} fp32); "
            f"{format_bytes(network.state_bytes)} weights+grads+optimizer; "
            f"{format_bytes(network.activation_bytes)} activations "
            f"({network.samples} inputs per step)"
        )
    lines.append(
        f"  total: {format_bytes(footprint.total_bytes)} of training.memory_budget "
        f"{format_bytes(budget * GB)}"
    )
    if footprint.data_bytes is not None:
        lines.append(f"  data set in host memory: {format_bytes(footprint.data_bytes)}")
    return lines
