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
        Tidy frame from :meth:`costlib.bill.estimate.Estimate.to_frame` (option x line item).
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


def hourly_profile_frame(profile) -> pd.DataFrame:
    """A traffic profile aggregated to hours: mean and peak request rate per hour.

    Parameters
    ----------
    profile : costlib.formulas.traffic.TrafficProfile

    Returns
    -------
    pandas.DataFrame
        Tidy: ``hour`` (hours since the window start), ``statistic`` (``mean`` or ``peak``),
        ``rps`` [requests/s]. A 7-day window gives 336 rows, well under Altair's limit.
    """
    frame = profile.to_frame()
    frame["hour"] = (frame["minute_of_window"] // 60).astype(int)
    out = frame.groupby("hour")["rps"].agg(mean="mean", peak="max").reset_index()
    return out.melt(id_vars="hour", var_name="statistic", value_name="rps")


def traffic_profile(profile) -> alt.Chart:
    """Lines of the hourly mean and peak request rate over the simulated window."""
    data = hourly_profile_frame(profile)
    return (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("hour:Q", title="hours since monday 00:00 utc"),
            y=alt.Y("rps:Q", title="requests per second"),
            color=alt.Color("statistic:N", title="within the hour"),
            tooltip=["hour", "statistic", alt.Tooltip("rps:Q", format=".2f")],
        )
        .properties(width=560, height=220)
    )


def breakeven(sweeps: pd.DataFrame, references: pd.DataFrame) -> alt.Chart:
    """Self-hosted monthly cost against batch size, with managed options as flat lines.

    Parameters
    ----------
    sweeps : pandas.DataFrame
        Columns ``option``, ``batch_size``, ``monthly_usd`` (feasible batches only).
    references : pandas.DataFrame
        Columns ``option``, ``monthly_usd``: the managed bills to beat.
    """
    lines = (
        alt.Chart(sweeps)
        .mark_line(point=True)
        .encode(
            x=alt.X("batch_size:Q", title="batch held per instance (sequences)",
                    scale=alt.Scale(type="log", base=2)),
            y=alt.Y("monthly_usd:Q", title="monthly cost (usd)", scale=alt.Scale(type="log")),
            color=alt.Color("option:N", title="option"),
            tooltip=["option", "batch_size", alt.Tooltip("monthly_usd:Q", format=",.0f")],
        )
    )
    rules = (
        alt.Chart(references)
        .mark_rule(strokeDash=[6, 4])
        .encode(
            y="monthly_usd:Q",
            color=alt.Color("option:N", title="option"),
            tooltip=["option", alt.Tooltip("monthly_usd:Q", format=",.0f")],
        )
    )
    return (lines + rules).properties(width=520, height=300)
