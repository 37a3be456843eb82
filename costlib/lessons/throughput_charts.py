"""Altair charts for the throughput lesson (notebooks/03_throughput.ipynb).

Each builder takes a tidy table from :mod:`costlib.lessons.throughput` and answers one question;
axis titles are lowercase with units; data are small (well under Altair's 5,000-row limit).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

_W, _H = 480, 260


def memory_chart(breakdown: pd.DataFrame) -> alt.Chart:
    """Stacked bar: where one GPU's memory goes (weights, activations, ..., KV cache)."""
    data = breakdown.assign(order=range(len(breakdown)))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("sum(gib_per_gpu):Q", title="memory per gpu (gib)"),
            color=alt.Color("component:N", title="component", sort=list(breakdown["component"])),
            order=alt.Order("order:Q"),
            tooltip=["component", alt.Tooltip("gib_per_gpu:Q", format=".2f", title="gib per gpu")],
        )
        .properties(width=_W, height=60)
    )


def roofline_chart(roofline_table: pd.DataFrame) -> alt.Chart:
    """Lines: decode-step time against batch, memory bound vs compute bound vs the full step."""
    return (
        alt.Chart(roofline_table)
        .mark_line(point=True)
        .encode(
            x=alt.X("batch:Q", title="sequences in the decode batch", scale=alt.Scale(type="log", base=2)),
            y=alt.Y("ms:Q", title="time per decode step (ms)", scale=alt.Scale(type="log")),
            color=alt.Color("term:N", title="bound"),
            tooltip=["batch", "term", alt.Tooltip("ms:Q", format=".2f")],
        )
        .properties(width=_W, height=_H)
    )


def prompt_cv_chart(table: pd.DataFrame) -> alt.Chart:
    """Line: the largest concurrency meeting the p95 target as prompt-length variation grows."""
    return (
        alt.Chart(table)
        .mark_line(point=True)
        .encode(
            x=alt.X("prompt_cv:Q", title="prompt length coefficient of variation (-)"),
            y=alt.Y("concurrency:Q", title="feasible concurrency per instance (sequences)"),
            tooltip=["prompt_cv", "concurrency", "limited_by",
                     alt.Tooltip("p95_ttft_ms:Q", format=",.0f", title="p95 ttft (ms)")],
        )
        .properties(width=_W, height=_H)
    )


def context_chart(table: pd.DataFrame) -> alt.HConcatChart:
    """Two panels against context length: feasible concurrency, and cost per 1k tokens."""
    base = alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("context_tokens:Q", title="context per request (tokens)", scale=alt.Scale(type="log", base=2)))
    conc = base.encode(
        y=alt.Y("concurrency:Q", title="feasible concurrency per instance (sequences)"),
        tooltip=["context_tokens", "concurrency", "max_concurrency_memory", "limited_by"],
    ).properties(width=300, height=_H)
    cost = base.encode(
        y=alt.Y("usd_per_1k_tokens:Q", title="cost per 1k tokens (usd)"),
        tooltip=["context_tokens", alt.Tooltip("usd_per_1k_tokens:Q", format=".5f")],
    ).properties(width=300, height=_H)
    return alt.hconcat(conc, cost)


def levers_chart(table: pd.DataFrame) -> alt.Chart:
    """Bars: cost per 1k tokens by precision / speculative decoding, at the same SLO."""
    data = table.dropna(subset=["usd_per_1k_tokens"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("usd_per_1k_tokens:Q", title="cost per 1k tokens (usd)"),
            y=alt.Y("variant:N", title=None, sort=list(table["variant"])),
            tooltip=["variant", "concurrency", alt.Tooltip("total_tokens_per_s:Q", format=",.0f"),
                     alt.Tooltip("usd_per_1k_tokens:Q", format=".5f")],
        )
        .properties(width=_W, height=36 * max(1, len(data)))
    )


def calibration_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Scatter: predicted against measured for every benchmark row, with the 1:1 line (log-log)."""
    lo = float(min(table["measured"].min(), table["predicted"].min()))
    hi = float(max(table["measured"].max(), table["predicted"].max()))
    diag = pd.DataFrame({"measured": [lo, hi], "predicted": [lo, hi]})
    scale = alt.Scale(type="log")
    points = alt.Chart(table).mark_point(filled=True, size=60).encode(
        x=alt.X("measured:Q", title="measured (tokens/s, or ms per token)", scale=scale),
        y=alt.Y("predicted:Q", title="modelled (same unit)", scale=scale),
        color=alt.Color("gpu:N", title="gpu"),
        shape=alt.Shape("engine:N", title="engine"),
        tooltip=["id", "model", "gpu", "gpus", "in_tokens", "out_tokens", "metric",
                 alt.Tooltip("ratio:Q", format=".2f")],
    )
    line = alt.Chart(diag).mark_line(strokeDash=[4, 4], color="gray").encode(x="measured:Q", y="predicted:Q")
    return (line + points).properties(width=_W, height=_H + 60)
