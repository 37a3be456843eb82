"""The plumbing tables and the article's levers, shared by the lessons after 03.

This was the module of ``notebooks/04_rest_of_the_bill``, which lessons 04 and 05 replaced
(:mod:`costlib.lessons.retrieval`, :mod:`costlib.lessons.network`). Its functions stay for the
lessons that show them: the plumbing blocks of a params file, each category's share and line
items, the article's levers before and after (:func:`costlib.whatif.levers.lever_report`) and its
claims checked on the file (:func:`costlib.whatif.levers.article_claims`).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from costlib.bill.estimate import Estimate
from costlib.bill.params import Params
from costlib.lessons import Lesson, charts, start, widgets
from costlib.lessons.charts import PLUMBING_CATEGORIES, category_frame
from costlib.whatif.levers import article_claims, catalog_frame, lever_report


def retrieval_note(params: Params) -> str:
    """A sentence when the file has no retrieval (the category is then zero), else ``""``."""
    if params.retrieval.enabled:
        return ""
    return ("This params file has no retrieval (retrieval.enabled is false): the retrieval "
            "category shows zero, and the context lever does not apply. "
            "params/rag_plumbing.yaml shows every category switched on.")


def plumbing_settings(params: Params) -> pd.DataFrame:
    """The plumbing blocks as the estimate reads them (defaults filled in), one row per key."""
    settings = pd.json_normalize(params.plumbing.model_dump(mode="json"), sep=".").T
    settings.columns = ["value"]
    settings["value"] = settings["value"].astype(str)
    return settings


def plumbing_share_chart(result: Estimate) -> alt.Chart:
    """How much of each option's bill is the plumbing around the model? Shares by category."""
    return charts.plumbing_share(result.to_frame())


def category_table(result: Estimate) -> pd.DataFrame:
    """Monthly USD per category (rows) and option (columns)."""
    cats = category_frame(result.to_frame())
    return cats.pivot(index="category", columns="option", values="monthly_usd").round(2)


def context_note(result: Estimate) -> str:
    """How many retrieved tokens the estimate added to every prompt."""
    return (f"retrieved context added to every prompt: "
            f"{result.workload['retrieved_context_tokens']:,.0f} tokens")


def category_items_chart(result: Estimate, category: str) -> alt.Chart:
    """What is this category made of, and for which option? One bar per line item."""
    return charts.category_items(result.to_frame(), category)


def failures_table(result: Estimate) -> pd.DataFrame:
    """Per option: the share of requests throttled, and the share never served."""
    return pd.DataFrame(
        [{"option": o.name, "throttled_fraction": o.details.get("throttled_fraction"),
          "unserved_fraction": o.details.get("unserved_fraction")} for o in result.options]
    ).set_index("option").round(4)


def retry_note(params: Params) -> str:
    """The retry policy, attempts, and the share of a throttled attempt that is billed."""
    f = params.failures
    return (f"retry policy: {f.retry_policy}, {f.max_attempts} attempts; "
            f"share of a throttled attempt billed: {f.billed_share_of_throttled_attempts:g}")


def lever_catalog() -> pd.DataFrame:
    """The article's levers: name, reason, the params keys each sets, always cheaper or not."""
    return catalog_frame()


def lever_changes_chart(report: pd.DataFrame) -> alt.Chart:
    """Which levers move this bill, and by how much? (from :func:`lever_report`)."""
    return charts.lever_changes(report)


def levers_shown(report: pd.DataFrame) -> pd.DataFrame:
    """The levers that apply, per option they target: before, after, change, overrides set."""
    shown = report[report["applies"] & report["targeted"]]
    return shown[["lever", "option", "before_usd", "after_usd", "change_pct", "overrides"]].round(
        {"before_usd": 2, "after_usd": 2, "change_pct": 2}).reset_index(drop=True)


def levers_skipped(report: pd.DataFrame) -> str:
    """One line per lever that does not apply to this file, with the reason."""
    skipped = report[~report["applies"]].drop_duplicates("lever")
    return "\n".join(f"{r.lever}: {r.why.split('Does not apply: ', 1)[-1]}"
                     for r in skipped.itertuples())


def lever_explorer(params: Params) -> widgets.Explorer:
    """The "try it" controls: network path, AZ placement, log sampling, KMS, retries, context."""
    return widgets.lever_explorer(params)


__all__ = ["Lesson", "start", "PLUMBING_CATEGORIES", "retrieval_note", "plumbing_settings",
           "plumbing_share_chart", "category_table", "context_note", "category_items_chart",
           "failures_table", "retry_note", "lever_catalog", "lever_report",
           "lever_changes_chart", "levers_shown", "levers_skipped", "article_claims",
           "lever_explorer"]
