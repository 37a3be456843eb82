"""Altair charts for the notebooks: each answers one question, stated above it in the notebook.

Executed reports render charts as inline SVG (vl-convert), which is offline and byte-stable; a
live notebook keeps Altair's interactive renderer. Charts never hold more rows than Altair's
5,000-row limit: callers aggregate first. Axis titles are lowercase with units.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

RENDERERS = ("svg", "interactive")


def use_renderer(name: str = "svg") -> str:
    """Choose how charts display: ``"svg"`` (reports, offline) or ``"interactive"`` (live use)."""
    if name not in RENDERERS:
        raise ValueError(f"chart renderer {name!r}: valid: {', '.join(RENDERERS)}")
    alt.renderers.enable("svg" if name == "svg" else "default")
    return name


def monthly_cost_by_option(estimate_frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars: monthly USD of each option, split by line-item category.

    Parameters
    ----------
    estimate_frame : pandas.DataFrame
        Tidy frame from :meth:`costlib.estimate.Estimate.to_frame` (option x line item).
    """
    data = (
        estimate_frame.groupby(["option", "category"], as_index=False)["monthly_usd"].sum()
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("monthly_usd:Q", title="monthly cost (usd)"),
            y=alt.Y("option:N", title=None, sort="x"),
            color=alt.Color("category:N", title="category"),
            tooltip=["option", "category", alt.Tooltip("monthly_usd:Q", format=",.0f")],
        )
        .properties(width=520, height=max(60, 36 * data["option"].nunique()))
    )


def cost_per_1k_tokens_curve(sweep: pd.DataFrame, x: str, x_title: str) -> alt.Chart:
    """Lines of USD per 1k tokens against one swept input, one line per option.

    Parameters
    ----------
    sweep : pandas.DataFrame
        Columns ``option``, ``usd_per_1k_tokens`` and the swept column ``x``.
    x : str
        The swept column.
    x_title : str
        Axis title, lowercase with units.
    """
    return (
        alt.Chart(sweep)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title),
            y=alt.Y("usd_per_1k_tokens:Q", title="cost per 1k tokens (usd)",
                    scale=alt.Scale(type="log")),
            color=alt.Color("option:N", title="option"),
            tooltip=["option", x, alt.Tooltip("usd_per_1k_tokens:Q", format=".5f")],
        )
        .properties(width=520, height=300)
    )
