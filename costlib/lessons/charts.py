"""Every Altair chart of the course, in one style: each answers one question, asked in the text.

Executed reports render charts as inline SVG (vl-convert), which is offline and byte-stable; a
live notebook keeps Altair's interactive renderer (:func:`use_renderer`). Charts never hold more
rows than Altair's 5,000-row limit: builders aggregate first. Axis titles are lowercase with
units; captions are in the notebook's text, never in a chart title.

One style for all lessons: the sizes :data:`WIDTH`, :data:`HEIGHT` and :data:`ROW`, one colour
per cost category (:data:`CATEGORY_COLORS`, the same in every lesson that splits a bill by
category), and one pair of colours for before / after (:data:`CASE_COLORS`).

Builders take the tidy tables costlib produces: :meth:`costlib.bill.estimate.Estimate.to_frame`,
:meth:`costlib.whatif.compare.Comparison.totals`, :func:`costlib.whatif.levers.lever_report`,
:mod:`costlib.lessons.throughput`'s tables and :mod:`costlib.tables.history`'s views.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from costlib.bill.lineitems import CATEGORIES

RENDERERS = ("svg", "interactive")

WIDTH = 520
"""Width of a single-panel chart [px]."""

HEIGHT = 280
"""Height of a chart whose y axis is a quantity [px]."""

ROW = 36
"""Height of one row of a chart whose y axis lists names (options, instances, models) [px]."""

CATEGORY_COLORS = {
    "inference": "#4c78a8",
    "retrieval": "#72b7b2",
    "network": "#f58518",
    "observability": "#e45756",
    "security": "#b279a2",
    "failures": "#9d755d",
    "operations": "#bab0ac",
}
"""One colour per cost category of :data:`costlib.bill.lineitems.CATEGORIES`, in every lesson."""

CASE_COLORS = {"before": "#bab0ac", "after": "#4c78a8"}
"""Colours of the two cases of a before/after chart."""

PLUMBING_CATEGORIES = ("retrieval", "network", "observability", "security", "failures")
"""The categories lesson 04 is about: everything but inference and operations."""


def use_renderer(name: str = "svg") -> str:
    """Choose how charts display: ``"svg"`` (reports, offline) or ``"interactive"`` (live use)."""
    if name not in RENDERERS:
        raise ValueError(f"chart renderer {name!r}: valid: {', '.join(RENDERERS)}")
    alt.renderers.enable("svg" if name == "svg" else "default")
    return name


def category_color(title: str = "category") -> alt.Color:
    """The colour channel of a chart split by cost category: the same palette everywhere."""
    return alt.Color("category:N", title=title,
                     scale=alt.Scale(domain=list(CATEGORY_COLORS),
                                     range=list(CATEGORY_COLORS.values())),
                     sort=list(CATEGORY_COLORS))


def case_color(field: str = "case", labels=("before", "after"), title: str = "case") -> alt.Color:
    """The colour channel of a before/after chart; ``labels`` name the two cases in order."""
    return alt.Color(f"{field}:N", title=title,
                     scale=alt.Scale(domain=list(labels), range=list(CASE_COLORS.values())),
                     sort=list(labels))


def _rows_height(n: int, per_row: int = ROW, minimum: int = 60, maximum: int = 900) -> int:
    """Height of a chart listing ``n`` names on its y axis [px]."""
    return int(min(maximum, max(minimum, per_row * max(1, n) + 20)))


def _category_order(frame: pd.DataFrame) -> pd.DataFrame:
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return frame.assign(order=frame["category"].map(order).fillna(len(order)))


# --------------------------------------------------------------------------------------------
# the bill: lessons 00 and 02


def monthly_cost_by_option(estimate_frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars: monthly USD of each option, split by line-item category.

    Parameters
    ----------
    estimate_frame : pandas.DataFrame
        Tidy frame from :meth:`costlib.bill.estimate.Estimate.to_frame` (option x line item).
    """
    data = estimate_frame.groupby(["option", "category"], as_index=False)["monthly_usd"].sum()
    data = _category_order(data)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("monthly_usd:Q", title="monthly cost (usd)"),
            y=alt.Y("option:N", title=None, sort="x"),
            color=category_color(),
            order=alt.Order("order:Q"),
            tooltip=["option", "category", alt.Tooltip("monthly_usd:Q", format=",.0f")],
        )
        .properties(width=WIDTH, height=_rows_height(data["option"].nunique()))
    )


def cost_per_1k_tokens_curve(sweep: pd.DataFrame, x: str, x_title: str) -> alt.Chart:
    """Lines of USD per 1k tokens against one swept input, one line per option.

    Parameters
    ----------
    sweep : pandas.DataFrame
        Columns ``option``, ``usd_per_1k_tokens`` and the swept column ``x``
        (:func:`costlib.whatif.sweeps.sweep`).
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
        .properties(width=WIDTH, height=HEIGHT)
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
        .properties(width=WIDTH, height=HEIGHT - 60)
    )


def breakeven(sweeps: pd.DataFrame, references: pd.DataFrame) -> alt.LayerChart:
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
    return (lines + rules).properties(width=WIDTH, height=HEIGHT)


def uncertainty_bands(frame: pd.DataFrame) -> alt.LayerChart:
    """Per option, the P10-P90 band of the monthly bill, its P50 and the point estimate.

    Parameters
    ----------
    frame : pandas.DataFrame
        :meth:`costlib.whatif.uncertainty.MonteCarlo.to_frame`: columns ``option``,
        ``point_usd``, ``p10_usd``, ``p50_usd``, ``p90_usd`` [USD/month] (``p_cheapest`` [-]
        shown in the tooltip when present).
    """
    order = list(frame["option"])
    tips = ["option", alt.Tooltip("point_usd:Q", title="point", format=",.0f"),
            alt.Tooltip("p10_usd:Q", title="P10", format=",.0f"),
            alt.Tooltip("p50_usd:Q", title="P50", format=",.0f"),
            alt.Tooltip("p90_usd:Q", title="P90", format=",.0f")]
    if "p_cheapest" in frame:
        tips.append(alt.Tooltip("p_cheapest:Q", title="P(cheapest)", format=".0%"))
    y = alt.Y("option:N", title=None, sort=order)
    base = alt.Chart(frame)
    band = base.mark_bar(height=14, opacity=0.35).encode(
        x=alt.X("p10_usd:Q", title="monthly cost, P10 to P90 (usd/month)"), x2="p90_usd:Q",
        y=y, tooltip=tips)
    median = base.mark_tick(thickness=2, size=20, color="black").encode(
        x="p50_usd:Q", y=y, tooltip=tips)
    point = base.mark_point(filled=True, color="#d62728", size=50).encode(
        x="point_usd:Q", y=y, tooltip=tips)
    return (band + median + point).properties(width=WIDTH, height=_rows_height(len(order)))


# --------------------------------------------------------------------------------------------
# the rest of the bill: lesson 04


def category_frame(estimate_frame: pd.DataFrame) -> pd.DataFrame:
    """Monthly USD and share of the total per option and category.

    Parameters
    ----------
    estimate_frame : pandas.DataFrame
        Tidy frame from :meth:`costlib.bill.estimate.Estimate.to_frame` (option x line item).

    Returns
    -------
    pandas.DataFrame
        One row per option x category (every category of
        :data:`costlib.bill.lineitems.CATEGORIES`, zero when absent): ``option``, ``category``,
        ``monthly_usd`` [USD/month], ``share_pct`` [% of the option's total], ``plumbing``
        (True for the categories of :data:`PLUMBING_CATEGORIES`).
    """
    sums = estimate_frame.groupby(["option", "category"])["monthly_usd"].sum()
    options = list(dict.fromkeys(estimate_frame["option"]))
    index = pd.MultiIndex.from_product([options, list(CATEGORIES)], names=["option", "category"])
    out = sums.reindex(index, fill_value=0.0).reset_index()
    totals = out.groupby("option")["monthly_usd"].transform("sum")
    out["share_pct"] = (100.0 * out["monthly_usd"] / totals.where(totals > 0)).fillna(0.0)
    out["plumbing"] = out["category"].isin(PLUMBING_CATEGORIES)
    return out


def plumbing_share(estimate_frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars: each option's monthly bill as shares of its categories.

    Answers "how much of each option's bill is the plumbing around the model?".
    """
    data = _category_order(category_frame(estimate_frame))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("share_pct:Q", title="share of the monthly bill (%)", stack="zero",
                    scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("option:N", title=None),
            color=category_color(),
            order=alt.Order("order:Q"),
            tooltip=["option", "category", alt.Tooltip("share_pct:Q", format=".1f"),
                     alt.Tooltip("monthly_usd:Q", format=",.0f")],
        )
        .properties(width=WIDTH, height=_rows_height(data["option"].nunique()))
    )


def category_items_frame(estimate_frame: pd.DataFrame, category: str) -> pd.DataFrame:
    """The line items of one category, per option: ``option``, ``item``, ``monthly_usd``.

    Items of a router's routes keep their ``route: item`` label; identical labels are summed.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; valid: {', '.join(CATEGORIES)}")
    rows = estimate_frame[estimate_frame["category"] == category]
    return rows.groupby(["option", "item"], as_index=False, sort=False)["monthly_usd"].sum()


def category_items(estimate_frame: pd.DataFrame, category: str) -> alt.Chart:
    """Horizontal bars: what each line item of one category costs each option per month.

    Answers "what is this category made of, and for which option?". Items that cost nothing
    still appear (an empty bar), so a category switched off is visibly zero.
    """
    data = category_items_frame(estimate_frame, category)
    n_items = max(1, data["item"].nunique())
    n_options = max(1, data["option"].nunique())
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("monthly_usd:Q", title=f"{category} cost per month (usd)"),
            y=alt.Y("item:N", title=None, sort="-x", axis=alt.Axis(labelLimit=420)),
            yOffset=alt.YOffset("option:N"),
            color=alt.Color("option:N", title="option"),
            tooltip=["option", "item", alt.Tooltip("monthly_usd:Q", format=",.2f")],
        )
        .properties(width=WIDTH - 160, height=_rows_height(n_items * n_options, 14, 20))
    )


def lever_changes(report: pd.DataFrame) -> alt.Chart:
    """Bars: the change in each option's monthly total when one lever is pulled.

    Parameters
    ----------
    report : pandas.DataFrame
        From :func:`costlib.whatif.levers.lever_report`; rows of levers that do not apply,
        options a lever is not aimed at, and levers the file cannot price are left out.

    Answers "which levers move this bill, and by how much?" (negative = cheaper).
    """
    data = report[report["applies"] & report["targeted"]].dropna(subset=["change_pct"])
    data = data[["lever", "option", "before_usd", "after_usd", "change_pct"]].copy()
    levers = list(dict.fromkeys(data["lever"]))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("change_pct:Q", title="change in monthly cost (%)"),
            y=alt.Y("lever:N", title=None, sort=levers),
            yOffset=alt.YOffset("option:N"),
            color=alt.Color("option:N", title="option"),
            tooltip=["lever", "option", alt.Tooltip("change_pct:Q", format="+.1f"),
                     alt.Tooltip("before_usd:Q", format=",.0f"),
                     alt.Tooltip("after_usd:Q", format=",.0f")],
        )
        .properties(width=WIDTH - 40, height=_rows_height(len(data), 14, 20))
    )


# --------------------------------------------------------------------------------------------
# what a GPU delivers: lesson 03


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
        .properties(width=WIDTH, height=60)
    )


def roofline_chart(roofline_table: pd.DataFrame) -> alt.Chart:
    """Lines: decode-step time against batch, memory bound vs compute bound vs the full step."""
    return (
        alt.Chart(roofline_table)
        .mark_line(point=True)
        .encode(
            x=alt.X("batch:Q", title="sequences in the decode batch",
                    scale=alt.Scale(type="log", base=2)),
            y=alt.Y("ms:Q", title="time per decode step (ms)", scale=alt.Scale(type="log")),
            color=alt.Color("term:N", title="bound"),
            tooltip=["batch", "term", alt.Tooltip("ms:Q", format=".2f")],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def prompt_cv_chart(table: pd.DataFrame) -> alt.Chart:
    """Line: the largest concurrency meeting the latency bounds as prompt-length variation grows."""
    tips = ["prompt_cv", "concurrency", "limited_by",
            alt.Tooltip("p95_ttft_ms:Q", format=",.0f", title="p95 ttft (ms)")]
    if "p95_tpot_ms" in table:
        tips.append(alt.Tooltip("p95_tpot_ms:Q", format=",.1f", title="p95 tpot (ms)"))
    return (
        alt.Chart(table)
        .mark_line(point=True)
        .encode(
            x=alt.X("prompt_cv:Q", title="prompt length coefficient of variation (-)"),
            y=alt.Y("concurrency:Q", title="feasible concurrency per instance (sequences)"),
            tooltip=tips,
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


LOAD_PANELS = {"ttft_ms": "time to first token", "tpot_ms": "time per output token"}
"""The two panels of :func:`latency_load_chart`: metric of the load table -> words."""

LOAD_BOUNDS = {"ttft_ms": "ttft_p95_ms", "tpot_ms": "tpot_p95_ms"}
"""The p95 latency bound drawn on each panel of :func:`latency_load_chart`."""

LOAD_SERIES = {"modelled": "#4c78a8", "published": "#e45756", "kv cache full": "#9d755d",
               "latency bound": "#bab0ac", "operating point": "#54a24b"}
"""Colours of the layers of :func:`latency_load_chart`."""


def latency_load_chart(curve: pd.DataFrame, points: pd.DataFrame | None = None,
                       bounds: dict | None = None, point: dict | None = None) -> alt.HConcatChart:
    """Two panels against closed-loop clients: time to first token, and time per output token.

    Answers "how do the latencies grow with load, and where does memory run out?". Both axes
    are logarithmic. Each panel layers the modelled line, the memory knee (a dashed vertical
    rule at ``max_concurrency_memory``, labelled), each p95 bound of ``bounds`` as a dotted
    horizontal rule (only on p95 curves) and, when given, the published points.

    Parameters
    ----------
    curve : pandas.DataFrame
        From :func:`costlib.lessons.throughput.latency_under_load` or
        :func:`~costlib.lessons.throughput.published_curve`: clients, metric (``ttft_ms``,
        ``tpot_ms``), statistic, ms, in_engine, queued, max_concurrency_memory.
    points : pandas.DataFrame, optional
        Published points: id, clients, metric, ms (and predicted).
    bounds : dict, optional
        ``{"ttft_p95_ms": .., "tpot_p95_ms": ..}`` [ms].
    point : dict, optional
        One operating point to mark on both panels (a filled diamond):
        ``{"clients": .., "ttft_ms": .., "tpot_ms": ..}`` (sequences in flight per instance, and
        its p95 latencies [ms]), e.g. a :class:`~costlib.formulas.throughput.ServingPoint`'s
        ``concurrency``, ``p95_ttft_ms`` and ``p95_tpot_ms``.
    """
    bounds = bounds or {}
    knee = int(curve["max_concurrency_memory"].iloc[0]) if len(curve) else None
    stat = str(curve["statistic"].iloc[0]) if len(curve) else "p95"
    series = ["modelled"]
    if points is not None and len(points):
        series.append("published")
    if knee is not None:
        series.append("kv cache full")
    if stat == "p95" and any(b in bounds for b in LOAD_BOUNDS.values()):
        series.append("latency bound")
    if point is not None:
        series.append("operating point")
    color = alt.Color("series:N", title="", sort=series,
                      scale=alt.Scale(domain=series, range=[LOAD_SERIES[s] for s in series]))
    top = max([float(curve["clients"].max()) if len(curve) else 10.0]
              + ([float(points["clients"].max())] if points is not None and len(points) else [])
              + ([float(point["clients"])] if point is not None else []))
    x_scale = alt.Scale(type="log", domain=[1.0, top], nice=False)
    x_title = "concurrent clients (closed loop, log scale)"
    panels = []
    for metric, words in LOAD_PANELS.items():
        data = curve.loc[curve["metric"] == metric, ["clients", "ms", "in_engine", "queued"]].assign(series="modelled")
        y = alt.Y("ms:Q", title=f"{stat} {words} (ms, log scale)", scale=alt.Scale(type="log"))
        layers = [alt.Chart(data).mark_line().encode(
            x=alt.X("clients:Q", title=x_title, scale=x_scale), y=y, color=color,
            tooltip=[alt.Tooltip("clients:Q", format=",.0f"), alt.Tooltip("ms:Q", format=",.1f"),
                     alt.Tooltip("in_engine:Q", format=",.1f", title="in the engine"),
                     alt.Tooltip("queued:Q", format=",.1f", title="waiting for a slot")])]
        if points is not None and len(points):
            pts = points.loc[points["metric"] == metric, ["id", "clients", "ms"]].assign(series="published")
            layers.append(alt.Chart(pts).mark_point(filled=True, size=60).encode(
                x=alt.X("clients:Q", scale=x_scale), y=alt.Y("ms:Q"), color=color,
                tooltip=["id", alt.Tooltip("clients:Q", format=",.0f"), alt.Tooltip("ms:Q", format=",.1f")]))
        bound = bounds.get(LOAD_BOUNDS[metric]) if stat == "p95" else None
        if bound is not None:
            rule = pd.DataFrame({"ms": [float(bound)], "series": ["latency bound"]})
            layers.append(alt.Chart(rule).mark_rule(strokeDash=[2, 3]).encode(
                y=alt.Y("ms:Q"), color=color, tooltip=[alt.Tooltip("ms:Q", title="p95 bound (ms)")]))
        if knee is not None:
            mark = pd.DataFrame({"clients": [float(knee)], "series": ["kv cache full"],
                                 "label": [f"kv cache full: {knee:,} sequences"]})
            layers.append(alt.Chart(mark).mark_rule(strokeDash=[6, 4]).encode(
                x=alt.X("clients:Q", scale=x_scale), color=color,
                tooltip=[alt.Tooltip("clients:Q", format=",.0f", title="kv slots per instance")]))
            layers.append(alt.Chart(mark).mark_text(align="right", dx=-4, baseline="top", fontSize=10).encode(
                x=alt.X("clients:Q", scale=x_scale), y=alt.value(4), text="label:N"))
        if point is not None:
            at = pd.DataFrame({"clients": [max(1.0, float(point["clients"]))], "ms": [float(point[metric])],
                               "series": ["operating point"]})
            layers.append(alt.Chart(at).mark_point(shape="diamond", filled=True, size=140, opacity=1).encode(
                x=alt.X("clients:Q", scale=x_scale), y=alt.Y("ms:Q"), color=color,
                tooltip=[alt.Tooltip("clients:Q", format=",.0f", title="sequences in flight"),
                         alt.Tooltip("ms:Q", format=",.1f", title=f"p95 {words} (ms)")]))
        panels.append(alt.layer(*layers).properties(width=WIDTH // 2 - 20, height=HEIGHT))
    return alt.hconcat(*panels)


def context_chart(table: pd.DataFrame) -> alt.HConcatChart:
    """Two panels against context length: feasible concurrency, and cost per 1k tokens."""
    base = alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("context_tokens:Q", title="context per request (tokens)",
                scale=alt.Scale(type="log", base=2)))
    conc = base.encode(
        y=alt.Y("concurrency:Q", title="feasible concurrency per instance (sequences)"),
        tooltip=["context_tokens", "concurrency", "max_concurrency_memory", "limited_by"],
    ).properties(width=WIDTH // 2 - 20, height=HEIGHT)
    cost = base.encode(
        y=alt.Y("usd_per_1k_tokens:Q", title="cost per 1k tokens (usd)"),
        tooltip=["context_tokens", alt.Tooltip("usd_per_1k_tokens:Q", format=".5f")],
    ).properties(width=WIDTH // 2 - 20, height=HEIGHT)
    return alt.hconcat(conc, cost)


def dashed_cost_lines(curve: pd.DataFrame, x: str, x_title: str, y_title: str, dash: str,
                      dash_title: str, order: list, color: str, now: float | None = None
                      ) -> alt.LayerChart:
    """Monthly cost against a volume on log-log axes, one colour, one dash pattern per ``dash``
    value (in ``order``), and a dotted rule at the params file's own volume ``now``.

    The shared form of lesson 04's store curves and lesson 05's entry-point curves: ``curve`` has
    the columns ``x``, ``monthly_usd`` and ``dash``.
    """
    lines = alt.Chart(curve).mark_line(
        point=alt.OverlayMarkDef(color=color, filled=True), color=color).encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log")),
        y=alt.Y("monthly_usd:Q", title=y_title, scale=alt.Scale(type="log")),
        strokeDash=alt.StrokeDash(f"{dash}:N", title=dash_title, sort=order),
        tooltip=[dash, alt.Tooltip(f"{x}:Q", format=",.0f"),
                 alt.Tooltip("monthly_usd:Q", format=",.2f")],
    )
    layers = [lines]
    if now is not None:
        rule = pd.DataFrame({x: [float(now)]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[2, 3], color="gray").encode(
            x=f"{x}:Q"))
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)


def window_chart(table: pd.DataFrame) -> alt.HConcatChart:
    """Two panels against the output cap (the window left after the prompt), one line per engine:
    sequences the KV cache holds, and cost per 1k tokens, for the same requests."""
    base = alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("window_tokens:Q", title="context window the cap is left at (tokens)",
                scale=alt.Scale(type="log", base=2)),
        color=alt.Color("engine:N", title="engine"))
    slots = base.encode(
        y=alt.Y("max_concurrency_memory:Q", title="sequences the KV cache holds (per instance)"),
        tooltip=["engine", "window_tokens", "max_concurrency_memory", "concurrency", "limited_by"],
    ).properties(width=WIDTH // 2 - 20, height=HEIGHT)
    cost = base.encode(
        y=alt.Y("usd_per_1k_tokens:Q", title="cost per 1k tokens (usd)"),
        tooltip=["engine", "window_tokens", alt.Tooltip("usd_per_1k_tokens:Q", format=".6f")],
    ).properties(width=WIDTH // 2 - 20, height=HEIGHT)
    return alt.hconcat(slots, cost)


def levers_chart(table: pd.DataFrame) -> alt.Chart:
    """Bars: cost per 1k tokens by precision / speculative decoding, at the same latency bounds."""
    data = table.dropna(subset=["usd_per_1k_tokens"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("usd_per_1k_tokens:Q", title="cost per 1k tokens (usd)"),
            y=alt.Y("variant:N", title=None, sort=list(table["variant"])),
            tooltip=["variant", "concurrency",
                     alt.Tooltip("total_tokens_per_s:Q", format=",.0f"),
                     alt.Tooltip("usd_per_1k_tokens:Q", format=".5f")],
        )
        .properties(width=WIDTH, height=_rows_height(len(data)))
    )


def tornado_chart(frame: pd.DataFrame, option: str) -> alt.LayerChart:
    """Which inputs move this option's total most? A tornado: one bar per input, ranked by swing.

    Each bar spans the option's total with the input at its low value to the total at its high
    value [USD/month], in two parts either side of today's total (the vertical rule): the part
    reached at the low end and the part reached at the high end, in the low/high palette.
    ``frame`` is :attr:`costlib.whatif.sensitivity.Tornado.frame` (or one option's table).
    """
    data = frame[frame["option"] == option].sort_values("rank")
    order = list(data["input"])
    long = pd.concat([
        data.assign(end="low", total_usd=data["low_usd"], value=data["low"].astype(str)),
        data.assign(end="high", total_usd=data["high_usd"], value=data["high"].astype(str)),
    ], ignore_index=True)[["input", "end", "value", "base_usd", "total_usd", "swing_usd",
                           "swing_pct", "origin"]]
    bars = alt.Chart(long).mark_bar().encode(
        x=alt.X("base_usd:Q", title="monthly total (usd/month)", scale=alt.Scale(zero=False)),
        x2="total_usd:Q",
        y=alt.Y("input:N", title=None, sort=order),
        color=case_color("end", labels=("low", "high"), title="input at"),
        tooltip=["input", "end", "value", alt.Tooltip("total_usd:Q", format=",.0f"),
                 alt.Tooltip("swing_usd:Q", format=",.0f"),
                 alt.Tooltip("swing_pct:Q", format=".1f"), "origin"],
    )
    base = float(data["base_usd"].iloc[0]) if len(data) else 0.0
    rule = alt.Chart(pd.DataFrame({"base_usd": [base]})).mark_rule(color="black").encode(
        x="base_usd:Q")
    return (bars + rule).properties(width=WIDTH - 120, height=_rows_height(len(data), 24))


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
    line = alt.Chart(diag).mark_line(strokeDash=[4, 4], color="gray").encode(
        x="measured:Q", y="predicted:Q")
    return (line + points).properties(width=WIDTH, height=HEIGHT + 60)


# --------------------------------------------------------------------------------------------
# prices and where they come from: lesson 01


def age_chart(by_year: pd.DataFrame) -> alt.Chart:
    """Stacked bars: rows in force per as-of year, split by table.

    From :func:`costlib.tables.history.rows_by_year`.
    """
    return (
        alt.Chart(by_year)
        .mark_bar()
        .encode(
            x=alt.X("as_of_year:O", title="as-of year of the source"),
            y=alt.Y("sum(rows):Q", title="price rows (count)"),
            color=alt.Color("table:N", title="table"),
            tooltip=["table", "as_of_year", "rows"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def price_cut_chart(cut: pd.DataFrame) -> alt.Chart:
    """Bars: on-demand USD per hour before and after the cut, per instance.

    From :func:`costlib.tables.history.gpu_price_cut`.
    """
    periods = ("before the cut", "after the cut")
    data = pd.concat([
        pd.DataFrame({"instance": cut["instance"], "period": periods[0],
                      "usd_per_hour": cut["before_usd_per_hour"], "cut_pct": cut["cut_pct"]}),
        pd.DataFrame({"instance": cut["instance"], "period": periods[1],
                      "usd_per_hour": cut["after_usd_per_hour"], "cut_pct": cut["cut_pct"]}),
    ], ignore_index=True)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("instance:N", title=None, sort=list(cut["instance"])),
            yOffset=alt.YOffset("period:N", sort=list(periods)),
            x=alt.X("usd_per_hour:Q", title="on-demand price (usd per instance-hour)"),
            color=case_color("period", periods, "period"),
            tooltip=["instance", "period", alt.Tooltip("usd_per_hour:Q", format=",.4f"),
                     alt.Tooltip("cut_pct:Q", format=".2f", title="cut (%)")],
        )
        .properties(width=WIDTH, height=_rows_height(len(cut), 44, 120))
    )


def region_chart(comparison: pd.DataFrame, regions=("us-east-1", "us-west-2")) -> alt.Chart:
    """Points: the price of each name in each region, one row per region.

    From :func:`costlib.tables.history.region_comparison`.
    """
    data = pd.concat(
        [pd.DataFrame({"name": comparison["name"], "region": r, "usd": comparison[f"usd_{r}"]})
         for r in regions],
        ignore_index=True,
    )
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=70)
        .encode(
            y=alt.Y("name:N", title=None, sort=list(comparison["name"])),
            yOffset=alt.YOffset("region:N", sort=list(regions)),
            x=alt.X("usd:Q", title="on-demand price (usd per instance-hour, log scale)",
                    scale=alt.Scale(type="log")),
            color=alt.Color("region:N", title="region", sort=list(regions)),
            tooltip=["name", "region", alt.Tooltip("usd:Q", format=",.5f")],
        )
        .properties(width=WIDTH, height=_rows_height(len(comparison), 24, 120))
    )


def before_after_chart(totals: pd.DataFrame) -> alt.Chart:
    """Bars: monthly USD of each option before and after a change.

    Parameters
    ----------
    totals : pandas.DataFrame
        Columns ``option``, ``before_usd``, ``after_usd``
        (:meth:`costlib.whatif.compare.Comparison.totals`).
    """
    data = pd.concat([
        pd.DataFrame({"option": totals["option"], "case": "before",
                      "usd_per_month": totals["before_usd"]}),
        pd.DataFrame({"option": totals["option"], "case": "after",
                      "usd_per_month": totals["after_usd"]}),
    ], ignore_index=True)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("option:N", title=None),
            yOffset=alt.YOffset("case:N", sort=["before", "after"]),
            x=alt.X("usd_per_month:Q", title="monthly cost (usd)"),
            color=case_color(title="prices"),
            tooltip=["option", "case", alt.Tooltip("usd_per_month:Q", format=",.0f")],
        )
        .properties(width=WIDTH, height=_rows_height(len(totals), 44, 100))
    )


def bedrock_prices_chart(long: pd.DataFrame, dimensions=("input", "output")) -> alt.Chart:
    """Points: USD per 1M tokens per model and dimension, log scale.

    From :func:`costlib.tables.history.bedrock_token_prices`.
    """
    data = long[long["dimension"].isin(list(dimensions))]
    data = data.assign(as_of=data["as_of"].map(str))[
        ["model", "dimension", "usd_per_1m_tokens", "as_of"]]
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=80)
        .encode(
            y=alt.Y("model:N", title=None, sort=list(dict.fromkeys(long["model"])),
                    axis=alt.Axis(labelLimit=320)),
            yOffset=alt.YOffset("dimension:N", sort=list(dimensions)),
            x=alt.X("usd_per_1m_tokens:Q", title="price (usd per 1m tokens, log scale)",
                    scale=alt.Scale(type="log")),
            color=alt.Color("dimension:N", title="tokens", sort=list(dimensions)),
            tooltip=["model", "dimension", alt.Tooltip("usd_per_1m_tokens:Q", format=",.4f"),
                     "as_of"],
        )
        .properties(width=WIDTH, height=_rows_height(data["model"].nunique(), 30, 120))
    )


__all__ = [
    "RENDERERS", "WIDTH", "HEIGHT", "ROW", "CATEGORY_COLORS", "CASE_COLORS",
    "PLUMBING_CATEGORIES", "window_chart", "dashed_cost_lines", "use_renderer", "category_color", "case_color",
    "monthly_cost_by_option", "cost_per_1k_tokens_curve", "hourly_profile_frame",
    "traffic_profile", "breakeven", "category_frame", "plumbing_share", "category_items_frame",
    "category_items", "lever_changes", "memory_chart", "roofline_chart", "prompt_cv_chart",
    "LOAD_PANELS", "LOAD_BOUNDS", "LOAD_SERIES", "latency_load_chart",
    "context_chart", "levers_chart", "calibration_chart", "age_chart", "price_cut_chart",
    "region_chart", "before_after_chart", "bedrock_prices_chart", "uncertainty_bands", "tornado_chart",
]


# --------------------------------------------------------------------------------------------
# what would flip the verdict, and what a change does: break-even and waterfall (issue 13)

PAIR_COLORS = ("#4c78a8", "#f58518")
"""Colours of the two options of a break-even chart, in the order the break-even names them."""

WATERFALL_COLORS = {"total": "#bab0ac", "increase": "#e45756", "decrease": "#54a24b"}
"""Colours of a waterfall's bars: the totals grey, a step up red, a step down green."""

CROSSING_MARKS = {"tie": [1, 0], "jump": [6, 3], "now": [2, 3]}
"""Dash pattern of each rule of a break-even chart: a root (both options cost the same) solid, a
jump of the bill dashed, the params file's current value dotted."""

_KEY_UNITS = {
    "usd_per_1m_input_tokens": "input price (usd per 1m tokens)",
    "usd_per_1m_output_tokens": "output price (usd per 1m tokens)",
    "usd_per_instance_hour": "instance price (usd per instance-hour)",
}


def key_title(key: str) -> str:
    """A lowercase axis title for a break-even key, with its unit when it is known.

    >>> key_title("options.bedrock_llama31_70b.usd_per_1m_input_tokens")
    'bedrock_llama31_70b input price (usd per 1m tokens)'
    >>> key_title("traffic")
    'average request rate, whole profile scaled (requests/s)'
    """
    if key in ("traffic", "workload.avg_rps"):
        return ("average request rate, whole profile scaled (requests/s)" if key == "traffic"
                else "average request rate (requests/s)")
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "options" and parts[2] in _KEY_UNITS:
        return f"{parts[1]} {_KEY_UNITS[parts[2]]}"
    return key.lower()


def breakeven_frame(b) -> pd.DataFrame:
    """Both options' monthly bills across a break-even's grid, tidy.

    Parameters
    ----------
    b : costlib.whatif.breakeven.Breakeven

    Returns
    -------
    pandas.DataFrame
        ``value`` [unit of the key], ``option`` (the two in ``b.options``' order) and
        ``monthly_usd`` [USD/month]: one row per grid point and option, plus one per crossing
        and option at the crossing itself (so the lines pass through it).
    """
    values = list(map(float, b.grid["values"]))
    frames = []
    for name, side in zip(b.options, ("a", "b")):
        vals = values + [c.value for c in b.crossings]
        usd = list(map(float, b.grid[name])) + [getattr(c, f"cost_{side}_usd") for c in b.crossings]
        frames.append(pd.DataFrame({"value": vals, "option": name, "monthly_usd": usd}))
    out = pd.concat(frames, ignore_index=True)
    out["rank"] = out["option"].map({n: i for i, n in enumerate(b.options)})
    return (out.sort_values(["rank", "value"], kind="stable").drop(columns="rank")
            .reset_index(drop=True))


def breakeven_marks(b) -> pd.DataFrame:
    """The rules of a break-even chart: one per crossing and one at the current value.

    Columns: ``mark`` (``"tie"`` for a root, ``"jump"`` for a step of the bill, ``"now"`` for
    the params file's value), ``value`` [unit of the key], ``monthly_usd`` (the bill there, NaN
    for ``now``) and ``label`` (the text beside the rule).
    """
    rows = [{"mark": "tie" if c.kind == "root" else "jump", "value": c.value,
             "monthly_usd": c.cost_usd,
             "label": f"{'tie' if c.kind == 'root' else 'jump'} at {c.value:,.4g}"}
            for c in b.crossings]
    if b.current is not None and b.lo <= b.current <= b.hi:
        rows.append({"mark": "now", "value": float(b.current), "monthly_usd": float("nan"),
                     "label": f"now {b.current:,.4g}"})
    return pd.DataFrame(rows, columns=["mark", "value", "monthly_usd", "label"])


def breakeven_chart(b, x_title: str | None = None) -> alt.LayerChart:
    """Where do two options cost the same? Both monthly bills across one input.

    Parameters
    ----------
    b : costlib.whatif.breakeven.Breakeven
    x_title : str, optional
        Axis title of the input (default :func:`key_title` of ``b.key``).

    Notes
    -----
    Lines: both options' bills on the break-even's grid. A solid rule marks each root (the
    options cost the same there), a dashed rule each jump (a step of the bill carries the
    difference across zero), a dotted grey rule the params file's value; each rule is labelled.
    The x axis is logarithmic when the range spans ten times or more, the y axis when the bills
    do. No title: the question goes in the text above.
    """
    data = breakeven_frame(b)
    marks = breakeven_marks(b)
    log_x = b.lo > 0 and b.hi / b.lo >= 10
    usd = data["monthly_usd"]
    log_y = bool(usd.min() > 0 and usd.max() / usd.min() >= 10)
    x_scale = alt.Scale(type="log", domain=[b.lo, b.hi], nice=False) if log_x else alt.Scale(
        domain=[b.lo, b.hi], nice=False)
    x = alt.X("value:Q", title=x_title or key_title(b.key), scale=x_scale)
    y_title = "monthly cost (usd, log scale)" if log_y else "monthly cost (usd)"
    color = alt.Color("option:N", title="option", sort=list(b.options),
                      scale=alt.Scale(domain=list(b.options), range=list(PAIR_COLORS)))
    y_scale = (alt.Scale(type="log", domain=[float(usd.min()) / 1.1, float(usd.max()) * 1.1],
                         nice=False) if log_y else alt.Scale(zero=False))
    lines = alt.Chart(data).mark_line().encode(
        x=x, y=alt.Y("monthly_usd:Q", title=y_title, scale=y_scale),
        color=color,
        tooltip=["option", alt.Tooltip("value:Q", format=",.4g"),
                 alt.Tooltip("monthly_usd:Q", format=",.0f")])
    layers = [lines]
    if len(marks):
        kinds = [k for k in CROSSING_MARKS if k in set(marks["mark"])]
        dash = alt.StrokeDash("mark:N", title=None, sort=kinds, scale=alt.Scale(
            domain=kinds, range=[CROSSING_MARKS[k] for k in kinds]))
        rule_color = alt.condition(alt.datum.mark == "now", alt.value("gray"), alt.value("black"))
        layers.append(alt.Chart(marks).mark_rule().encode(
            x=alt.X("value:Q", scale=x_scale), strokeDash=dash, color=rule_color,
            tooltip=["mark", alt.Tooltip("value:Q", format=",.6g"),
                     alt.Tooltip("monthly_usd:Q", format=",.0f")]))
        later = [c.value for c in b.crossings if b.current is not None and c.value > b.current]
        for i, rec in enumerate(marks.itertuples()):  # labels stacked, so near rules stay legible
            left = rec.mark == "now" and bool(later)  # today's label clear of a crossing's rule
            layers.append(alt.Chart(marks.iloc[[i]]).mark_text(
                align="right" if left else "left", dx=-4 if left else 4, baseline="top",
                fontSize=11,
                color="gray" if rec.mark == "now" else "black").encode(
                x=alt.X("value:Q", scale=x_scale), y=alt.value(4 + 14 * i), text="label:N"))
        crossings = marks[marks["mark"] != "now"]
        if len(crossings):
            layers.append(alt.Chart(crossings).mark_point(filled=True, size=70, color="black")
                          .encode(x=alt.X("value:Q", scale=x_scale),
                                  y=alt.Y("monthly_usd:Q", scale=y_scale),
                                  tooltip=["mark", alt.Tooltip("value:Q", format=",.6g"),
                                           alt.Tooltip("monthly_usd:Q", format=",.0f")]))
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)


def waterfall_chart(frame: pd.DataFrame, x_title: str = "monthly cost (usd)") -> alt.LayerChart:
    """What does a change do to one option's bill? A waterfall from the total before to after.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`costlib.whatif.diff.waterfall_frame`.
    x_title : str
        Axis title, lowercase with units.

    Notes
    -----
    Horizontal bars read top to bottom: the total before (grey, from 0), one bar per step from
    where the last ended (red up, green down, :data:`WATERFALL_COLORS`), the total after. Each
    step is labelled with its signed change, since a small step is thin on an axis from 0.
    """
    order = list(frame["step"])
    data = frame.assign(label=[f"{c:,.0f}" if k == "total" else f"{c:+,.0f}"
                               for c, k in zip(frame["change_usd"], frame["kind"])],
                        right=frame[["start_usd", "end_usd"]].max(axis=1))
    kinds = [k for k in WATERFALL_COLORS if k in set(frame["kind"])]
    y = alt.Y("step:N", title=None, sort=order, axis=alt.Axis(labelLimit=360))
    top = float(data["right"].max()) if len(data) else 1.0
    x_scale = alt.Scale(domain=[0.0, 1.18 * top if top > 0 else 1.0], nice=False)  # room for labels
    bars = alt.Chart(data).mark_bar().encode(
        y=y, x=alt.X("start_usd:Q", title=x_title, scale=x_scale,
                     axis=alt.Axis(tickCount=6, labelOverlap=True)), x2="end_usd:Q",
        color=alt.Color("kind:N", title=None, sort=kinds, scale=alt.Scale(
            domain=kinds, range=[WATERFALL_COLORS[k] for k in kinds])),
        tooltip=["step", "kind", "category", alt.Tooltip("change_usd:Q", format="+,.2f"),
                 alt.Tooltip("end_usd:Q", format=",.2f", title="runs to (usd)")])
    text = alt.Chart(data).mark_text(align="left", dx=4, fontSize=11).encode(
        y=y, x=alt.X("right:Q", scale=x_scale), text="label:N")
    return (bars + text).properties(width=WIDTH, height=_rows_height(len(frame), 26, 80))


__all__ += ["PAIR_COLORS", "WATERFALL_COLORS", "CROSSING_MARKS", "key_title", "breakeven_frame",
            "breakeven_marks", "breakeven_chart", "waterfall_chart"]
