"""Altair charts for lesson 04, "the rest of the bill": each answers one question.

Every builder takes a tidy frame costlib produced (:meth:`costlib.bill.estimate.Estimate.to_frame`,
:func:`costlib.whatif.levers.lever_report`), aggregates it to a few dozen rows at most, and returns an
Altair chart with lowercase axis titles that carry their units. Rendering (SVG for reports,
interactive when live) is chosen by :func:`costlib.lessons.charts.use_renderer`.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from costlib.bill.options import CATEGORIES

PLUMBING_CATEGORIES = ("retrieval", "network", "observability", "security", "failures")
"""The categories this lesson is about: everything but inference and operations."""


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
        :data:`costlib.bill.options.CATEGORIES`, zero when absent): ``option``, ``category``,
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
    data = category_frame(estimate_frame)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    data["order"] = data["category"].map(order)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("share_pct:Q", title="share of the monthly bill (%)", stack="zero",
                    scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("option:N", title=None),
            color=alt.Color("category:N", title="category", sort=list(CATEGORIES)),
            order=alt.Order("order:Q"),
            tooltip=["option", "category", alt.Tooltip("share_pct:Q", format=".1f"),
                     alt.Tooltip("monthly_usd:Q", format=",.0f")],
        )
        .properties(width=520, height=max(60, 36 * data["option"].nunique()))
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
            y=alt.Y("item:N", title=None, sort="-x",
                    axis=alt.Axis(labelLimit=420)),
            yOffset=alt.YOffset("option:N"),
            color=alt.Color("option:N", title="option"),
            tooltip=["option", "item", alt.Tooltip("monthly_usd:Q", format=",.2f")],
        )
        .properties(width=360, height=min(900, 14 * n_items * n_options + 20))
    )


def lever_changes(report: pd.DataFrame) -> alt.Chart:
    """Bars: the change in each option's monthly total when one lever is pulled.

    Parameters
    ----------
    report : pandas.DataFrame
        From :func:`costlib.whatif.levers.lever_report`; rows of levers that do not apply, options a
        lever is not aimed at, and levers the file cannot price are left out.

    Answers "which levers move this bill, and by how much?" (negative = cheaper).
    """
    data = report[report["applies"] & report["targeted"]].dropna(subset=["change_pct"])
    data = data[["lever", "option", "before_usd", "after_usd", "change_pct"]].copy()
    levers = list(dict.fromkeys(data["lever"]))
    n_rows = max(1, len(data))
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
        .properties(width=480, height=min(900, 14 * n_rows + 20))
    )


__all__ = ["PLUMBING_CATEGORIES", "category_frame", "plumbing_share", "category_items_frame",
           "category_items", "lever_changes"]
