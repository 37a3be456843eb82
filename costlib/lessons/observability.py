"""Lesson 06, observability and security (``notebooks/06_observability_security.ipynb``).

The question: what do logs, metrics, traces and encryption cost for this workload, and what
should the team log and keep? Every number here comes from the bill's own pricers
(:mod:`costlib.bill.plumbing.observability`, :mod:`costlib.bill.plumbing.security`), run on the
params file in force with a few keys overridden (:func:`costlib.bill.params.with_overrides`)
or swept over an array (:func:`costlib.bill.vector.price_many`); the byte counts come from
:func:`costlib.formulas.logs.log_bytes_per_request`.

Observability and security line items do not depend on how the model is served: every option
of a params file carries the same ones, so this lesson reads them from the first option.

References
----------
Amazon CloudWatch pricing (Logs ingestion per GB, storage per GB-month, Logs Insights per GB
scanned), AWS X-Ray pricing, AWS KMS pricing (per key-month and per 10,000 requests), AWS
Secrets Manager pricing: each price row in ``costlib/data/prices/`` carries its source. The
reference article: "Token-level traces and payload logging are great until CloudWatch
ingestion is your third largest line item. KMS on every write makes it worse"; "Sample logs.
Keep redacted exemplars and traces, not every byte of every prompt."
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params, with_overrides
from costlib.bill.vector import price_many
from costlib.core.units import BYTES_PER_TOKEN_TEXT
from costlib.formulas.logs import log_bytes_per_request
from costlib.formulas.network import gb_per_month
from costlib.lessons import Lesson, charts, start

LEVELS = {
    "metadata only": {"observability.log_payloads": False,
                      "observability.token_level_traces": False},
    "+ prompt and answer": {"observability.log_payloads": True,
                            "observability.token_level_traces": False},
    "+ token-level traces": {"observability.log_payloads": True,
                             "observability.token_level_traces": True},
}
"""The three logging levels of the lesson, each as params overrides (every other key as filed)."""

FULL_LOGGING = LEVELS["+ token-level traces"]
"""Payloads and one event per generated token: the article's "full payload logging"."""

OBS_SHADES = {"ingestion": charts.CATEGORY_COLORS["observability"], "storage": "#ff9d98",
              "Logs Insights scans": "#9e2a2b", "metrics, alarms, dashboards": "#f4c7c3",
              "X-Ray traces": "#6b1d1d"}
"""Shades of the observability colour of :data:`costlib.lessons.charts.CATEGORY_COLORS`, one per
kind of observability line item."""

ASSUMED_WRITES_PER_REQUEST = 2.0
"""KMS-encrypted objects per request assumed when the file encrypts none (a conversation record
and an audit event, as ``params/rag_plumbing.yaml``) [objects/request]."""


# --------------------------------------------------------------------------------------------
# reading an estimate


def _first(result: Estimate):
    return result.options[0]


def category_items(result: Estimate, category: str) -> pd.DataFrame:
    """The line items of one category of the first option: item, quantity, unit, unit price,
    monthly USD and the price's source (the same for every option, see the module notes)."""
    o = _first(result)
    rows = [{"item": li.item, "quantity": li.quantity, "unit": li.unit, "unit_usd": li.unit_usd,
             "monthly_usd": li.monthly_usd, "source": li.source}
            for li in o.line_items if li.category == category]
    return pd.DataFrame(rows, columns=["item", "quantity", "unit", "unit_usd", "monthly_usd",
                                       "source"])


def category_usd(result: Estimate, category: str) -> float:
    """Monthly USD of one category for the first option [USD/month]."""
    return float(sum(li.monthly_usd for li in _first(result).line_items
                     if li.category == category))


def _item_kind(item: str) -> str:
    if item.startswith("CloudWatch Logs ingestion"):
        return "ingestion"
    if item.startswith("CloudWatch Logs storage"):
        return "storage"
    if item.startswith("CloudWatch Logs Insights"):
        return "Logs Insights scans"
    if item.startswith("X-Ray"):
        return "X-Ray traces"
    return "metrics, alarms, dashboards"


# --------------------------------------------------------------------------------------------
# parameters


def settings_table(params: Params) -> pd.DataFrame:
    """The ``observability:`` and ``security:`` blocks as the estimate reads them (defaults
    filled in), one row per key, with the workload's token counts the log bytes depend on."""
    rows = [{"key": f"observability.{k}", "value": str(v)}
            for k, v in params.observability.model_dump(mode="json").items()]
    rows += [{"key": f"security.{k}", "value": str(v)}
             for k, v in params.security.model_dump(mode="json").items()]
    return pd.DataFrame(rows).set_index("key")


def prices_table(params: Params) -> pd.DataFrame:
    """Every unit price this lesson uses, from the price tables in force.

    The file priced with every observability and security item switched on (Logs Insights, an
    alarm, a dashboard, a KMS request, a secret; custom metrics and X-Ray only when the file
    gives their price, see :func:`unpriced_note`), one row per item with unit, USD and source.
    """
    s = params.observability
    on = {**FULL_LOGGING, "observability.insights_queries_per_day": 1.0,
          "observability.alarms": 1, "observability.dashboards": 1,
          "security.encrypted_writes_per_request": 1.0, "security.secrets": 1,
          "security.secret_calls_per_request": 0.01}
    if s.usd_per_custom_metric_month is not None:
        on["observability.custom_metrics"] = max(1, s.custom_metrics)
    if s.usd_per_1m_xray_traces is not None:
        on["observability.trace_sample_rate"] = s.trace_sample_rate or 0.05
    result = estimate(with_overrides(params, on))
    frames = [category_items(result, c) for c in ("observability", "security")]
    table = pd.concat(frames, ignore_index=True)
    table["item"] = table["item"].str.replace(r" \(.*\)$", "", regex=True)
    return table[["item", "unit", "unit_usd", "source"]].set_index("item")


def unpriced_note(params: Params) -> str:
    """A sentence naming the observability items whose price the file must give (no row in the
    price tables): custom metrics and X-Ray traces; ``""`` when the file gives both."""
    s = params.observability
    missing = [k for k, v in (("observability.usd_per_custom_metric_month",
                               s.usd_per_custom_metric_month),
                              ("observability.usd_per_1m_xray_traces", s.usd_per_1m_xray_traces))
               if v is None]
    if not missing:
        return ""
    return ("Custom metrics and X-Ray traces have no row in the price tables: to price them, set "
            "custom_metrics or trace_sample_rate together with " + " and ".join(missing)
            + " in the params file (CloudWatch custom metrics are tiered from 0.30 USD a "
            "metric-month, X-Ray 5.00 USD per million traces recorded, on the AWS pricing "
            "pages).")


# --------------------------------------------------------------------------------------------
# logs: bytes per request and cost per level


def bytes_by_level(params: Params, result: Estimate) -> pd.DataFrame:
    """Log bytes per request at each level of :data:`LEVELS` [bytes/request].

    :func:`costlib.formulas.logs.log_bytes_per_request` with the prompt and answer the
    estimate priced (retrieved context included) and the file's sampling, redaction and copies;
    ``multiple`` is the level's bytes over the metadata-only bytes [-]. Also the monthly GB
    ingested (``bytes x requests / 2**30``) [GB/month].
    """
    s = params.observability
    w = result.workload
    rows = []
    for level, over in LEVELS.items():
        b = float(log_bytes_per_request(
            w["in_tokens"], w["out_tokens"], s.metadata_bytes_per_request, s.log_sample_rate,
            over["observability.log_payloads"], over["observability.token_level_traces"],
            s.bytes_per_token_event, s.payload_sample_rate, s.payload_kept_fraction,
            s.payload_copies))
        rows.append({"level": level, "bytes_per_request": b,
                     "gb_per_month": float(gb_per_month(b, w["requests_per_month"]))})
    frame = pd.DataFrame(rows)
    base = frame["bytes_per_request"].iloc[0]
    frame["multiple"] = frame["bytes_per_request"] / base if base else np.nan
    return frame


def bytes_chart(frame: pd.DataFrame) -> alt.Chart:
    """How many bytes does one request write to CloudWatch Logs at each logging level?"""
    return alt.Chart(frame).mark_bar(color=charts.CATEGORY_COLORS["observability"]).encode(
        x=alt.X("bytes_per_request:Q", title="log bytes per request [bytes]"),
        y=alt.Y("level:N", sort=list(LEVELS), title=None),
        tooltip=["level", alt.Tooltip("bytes_per_request:Q", format=",.0f"),
                 alt.Tooltip("multiple:Q", format=".1f")],
    ).properties(width=charts.WIDTH, height=charts._rows_height(len(frame)))


def cost_by_level(params: Params) -> pd.DataFrame:
    """Monthly observability USD at each logging level, per kind of line item.

    The file priced three times by :func:`costlib.bill.estimate.estimate` with the overrides of
    :data:`LEVELS`; columns ``level``, ``kind`` (ingestion, storage, Logs Insights scans, ...),
    ``monthly_usd`` [USD/month].
    """
    rows = []
    for level, over in LEVELS.items():
        items = category_items(estimate(with_overrides(params, over)), "observability")
        for r in items.itertuples():
            rows.append({"level": level, "kind": _item_kind(r.item), "monthly_usd": r.monthly_usd})
    frame = pd.DataFrame(rows)
    return frame.groupby(["level", "kind"], sort=False, as_index=False)["monthly_usd"].sum()


def cost_by_level_chart(frame: pd.DataFrame) -> alt.Chart:
    """What does each logging level cost a month, split into ingestion, storage and queries?"""
    kinds = [k for k in OBS_SHADES if k in set(frame["kind"])]
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("sum(monthly_usd):Q", title="observability [USD/month]"),
        y=alt.Y("level:N", sort=list(LEVELS), title=None),
        color=alt.Color("kind:N", title="line item", sort=kinds,
                        scale=alt.Scale(domain=kinds, range=[OBS_SHADES[k] for k in kinds])),
        order=alt.Order("kind_order:Q"),
        tooltip=["level", "kind", alt.Tooltip("monthly_usd:Q", format=",.2f")],
    ).transform_calculate(
        kind_order=f"indexof({kinds!r}, datum.kind)"
    ).properties(width=charts.WIDTH, height=charts._rows_height(len(LEVELS)))


def logging_answer(params: Params, result: Estimate) -> Markdown:
    """The answer to "why does logging prompts multiply the bytes?" in figures of this file."""
    b = bytes_by_level(params, result)
    c = cost_by_level(params).groupby("level", sort=False)["monthly_usd"].sum()
    w = result.workload
    meta, pay, full = b["bytes_per_request"]
    return Markdown(
        f"A request of {w['in_tokens']:,.0f} prompt and {w['out_tokens']:,.0f} answer tokens "
        f"writes {meta:,.0f} bytes of metadata; logging the prompt and answer makes it "
        f"{pay:,.0f} bytes ({pay / meta:,.1f} times), and one event per generated token "
        f"{full:,.0f} bytes ({full / meta:,.1f} times). Over "
        f"{w['requests_per_month']:,.0f} requests a month the observability bill goes from "
        f"{c.iloc[0]:,.2f} to {c.iloc[1]:,.2f} and {c.iloc[2]:,.2f} USD a month.")


# --------------------------------------------------------------------------------------------
# sampling and retention


def heavy_logging(params: Params) -> tuple[Params, str]:
    """The file with payloads and token-level traces on, and a note when they were off."""
    s = params.observability
    if s.log_payloads and s.token_level_traces:
        return params, ""
    note = ("This params file does not log payloads and token-level traces, so this section "
            "turns both on through overrides (observability.log_payloads and "
            "observability.token_level_traces: true) to show what sampling saves.")
    return with_overrides(params, FULL_LOGGING), note


def sample_rate_sweep(params: Params, rates=None, retentions=(7.0, 30.0, 365.0)) -> pd.DataFrame:
    """Monthly observability USD against the payload sample rate, for a few retentions.

    One :func:`costlib.bill.vector.price_many` call over the grid of
    ``observability.payload_sample_rate`` [0-1] x ``observability.retention_days`` [days], with
    payloads and token traces on (:func:`heavy_logging`). Columns ``payload_sample_rate``,
    ``retention_days``, ``monthly_usd`` [USD/month].
    """
    heavy, _ = heavy_logging(params)
    rates = np.linspace(0.0, 1.0, 21) if rates is None else np.asarray(rates, dtype=float)
    r, d = np.meshgrid(rates, np.asarray(retentions, dtype=float))
    bill = price_many(heavy, {"observability.payload_sample_rate": r.ravel(),
                              "observability.retention_days": d.ravel()})
    usd = bill.by_category(next(iter(bill.options)))["observability"]
    return pd.DataFrame({"payload_sample_rate": r.ravel(), "retention_days": d.ravel(),
                         "monthly_usd": np.asarray(usd, dtype=float)})


def sample_rate_chart(frame: pd.DataFrame) -> alt.Chart:
    """How does the observability bill fall as fewer payloads are kept, at each retention?"""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("payload_sample_rate:Q", title="share of requests whose payloads are logged [-]",
                axis=alt.Axis(format="%")),
        y=alt.Y("monthly_usd:Q", title="observability [USD/month]"),
        strokeDash=alt.StrokeDash("retention_days:O", title="retention [days]"),
        color=alt.value(charts.CATEGORY_COLORS["observability"]),
        tooltip=[alt.Tooltip("payload_sample_rate:Q", format=".0%"), "retention_days:O",
                 alt.Tooltip("monthly_usd:Q", format=",.2f")],
    ).properties(width=charts.WIDTH, height=charts.HEIGHT)


def sample_answer(frame: pd.DataFrame, params: Params) -> Markdown:
    """The sweep in two sentences: full logging against a 1 % sample, at the file's retention."""
    days = params.observability.retention_days
    at = frame[frame["retention_days"] == days]
    if at.empty:
        at = frame[frame["retention_days"] == frame["retention_days"].iloc[0]]
        days = float(at["retention_days"].iloc[0])
    full = float(np.interp(1.0, at["payload_sample_rate"], at["monthly_usd"]))
    one = float(np.interp(0.01, at["payload_sample_rate"], at["monthly_usd"]))
    none = float(np.interp(0.0, at["payload_sample_rate"], at["monthly_usd"]))
    return Markdown(
        f"At {days:g} days of retention, logging every payload and token costs {full:,.2f} USD "
        f"a month; keeping 1 % of them as exemplars costs {one:,.2f}, and metadata alone "
        f"{none:,.2f}. The line is straight: every byte costs the same to ingest and to keep, "
        f"so cost falls in proportion to the sample.")


# --------------------------------------------------------------------------------------------
# ranking against the rest of the bill


def rank_table(params: Params) -> pd.DataFrame:
    """Where observability ranks among each option's cost categories, as filed and with full
    payload logging: monthly USD, share of the total [%] and rank (1 = largest) [-]."""
    rows = []
    for case, p in (("as filed", params), ("full payload logging",
                                           with_overrides(params, FULL_LOGGING))):
        for o in estimate(p).options:
            cats: dict[str, float] = {}
            for li in o.line_items:
                cats[li.category] = cats.get(li.category, 0.0) + li.monthly_usd
            order = sorted(cats, key=cats.get, reverse=True)
            obs = cats.get("observability", 0.0)
            rows.append({"case": case, "option": o.name, "observability_usd": round(obs, 2),
                         "share_pct": round(100.0 * obs / o.monthly_usd, 3) if o.monthly_usd
                         else 0.0,
                         "rank": order.index("observability") + 1, "of_categories": len(order)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# KMS


def kms_file(params: Params) -> tuple[Params, str]:
    """The file with KMS-encrypted writes on the request path, and a note when it had none."""
    s = params.security
    if s.encrypted_writes_per_request + s.encrypted_reads_per_request > 0:
        return params, ""
    note = (f"This params file encrypts nothing per request, so this section sets "
            f"security.encrypted_writes_per_request to {ASSUMED_WRITES_PER_REQUEST:g} (a "
            f"conversation record and an audit event in an SSE-KMS bucket) through overrides.")
    return with_overrides(params, {"security.encrypted_writes_per_request":
                                   ASSUMED_WRITES_PER_REQUEST}), note


def kms_sweep(params: Params, objects_per_key=(1, 3, 10, 30, 100, 300, 1000)) -> pd.DataFrame:
    """Monthly security USD against the objects one KMS request serves (data-key caching).

    One :func:`costlib.bill.vector.price_many` call over ``security.objects_per_data_key``
    [objects]; columns ``objects_per_data_key``, ``kms_requests_usd`` (the per-request line
    item), ``monthly_usd`` (the whole security category) [USD/month].
    """
    p, _ = kms_file(params)
    values = np.asarray(objects_per_key, dtype=float)
    bill = price_many(p, {"security.objects_per_data_key": values})
    items = bill.options[next(iter(bill.options))]
    req = sum((i.monthly_usd for i in items if i.item.startswith("KMS requests")),
              np.zeros(len(values)))
    sec = bill.by_category(next(iter(bill.options)))["security"]
    return pd.DataFrame({"objects_per_data_key": values, "kms_requests_usd": np.asarray(req),
                         "monthly_usd": np.asarray(sec, dtype=float)})


def kms_chart(frame: pd.DataFrame) -> alt.Chart:
    """What do KMS requests cost as one data key serves more objects?"""
    return alt.Chart(frame).mark_line(point=True,
                                      color=charts.CATEGORY_COLORS["security"]).encode(
        x=alt.X("objects_per_data_key:Q", title="objects encrypted per KMS request [objects]",
                scale=alt.Scale(type="log")),
        y=alt.Y("monthly_usd:Q", title="security [USD/month]"),
        tooltip=["objects_per_data_key", alt.Tooltip("monthly_usd:Q", format=",.2f")],
    ).properties(width=charts.WIDTH, height=charts.HEIGHT)


def kms_answer(frame: pd.DataFrame) -> Markdown:
    """The KMS sweep in one sentence: no caching against the largest cache tried."""
    a, b = frame.iloc[0], frame.iloc[-1]
    return Markdown(
        f"With one KMS request per object the security category costs {a.monthly_usd:,.2f} USD "
        f"a month, {a.kms_requests_usd:,.2f} of it KMS requests; with one data key per "
        f"{b.objects_per_data_key:,.0f} objects (S3 Bucket Keys or the Encryption SDK's "
        f"data-key cache) it costs {b.monthly_usd:,.2f}, and what is left is mostly the "
        f"key-months.")


# --------------------------------------------------------------------------------------------
# exercises


def exercise_payload_ingestion(params: Params) -> Markdown:
    """Exercise 1: log the prompt and answer of every request (no token traces): the monthly
    ingestion bill, and the same by hand from the price row (``GB x USD/GB``)."""
    over = {**LEVELS["+ prompt and answer"], "observability.payload_sample_rate": 1.0,
            "observability.log_sample_rate": 1.0}
    result = estimate(with_overrides(params, over))
    ing = category_items(result, "observability").iloc[0]
    w = result.workload
    s = params.observability
    by_hand = ((s.metadata_bytes_per_request + s.payload_kept_fraction * s.payload_copies
                * (w["in_tokens"] + w["out_tokens"]) * BYTES_PER_TOKEN_TEXT)
               * w["requests_per_month"] / 2**30 * ing.unit_usd)
    return Markdown(
        f"Bytes per request: {s.metadata_bytes_per_request:,.0f} + "
        f"{s.payload_kept_fraction:g} x {s.payload_copies} x ({w['in_tokens']:,.0f} + "
        f"{w['out_tokens']:,.0f}) tokens x {BYTES_PER_TOKEN_TEXT:g} bytes; times "
        f"{w['requests_per_month']:,.0f} requests / 2^30 = {ing.quantity:,.1f} GB a month, at "
        f"{ing.unit_usd:g} USD per GB: **{ing.monthly_usd:,.2f} USD a month** (by hand: "
        f"{by_hand:,.2f}).")


def budget_sample_rate(params: Params, multiple: float = 2.0) -> float:
    """The payload sample rate at which full logging ingests ``multiple`` times the
    metadata-only bytes [0-1] (1 when even full logging stays under it).

    ``meta * s_log + s * kept * heavy = multiple * meta * s_log`` solved for ``s``, with the
    terms of :func:`costlib.formulas.logs.log_bytes_per_request`.
    """
    result = estimate(params)
    w = result.workload
    s = params.observability
    meta = float(log_bytes_per_request(w["in_tokens"], w["out_tokens"],
                                       s.metadata_bytes_per_request, s.log_sample_rate))
    full = float(log_bytes_per_request(w["in_tokens"], w["out_tokens"],
                                       s.metadata_bytes_per_request, s.log_sample_rate, True,
                                       True, s.bytes_per_token_event, 1.0,
                                       s.payload_kept_fraction, s.payload_copies))
    heavy = full - meta
    return float(min(1.0, (multiple - 1.0) * meta / heavy)) if heavy > 0 else 1.0


def exercise_sample_rate(params: Params, multiple: float = 2.0) -> Markdown:
    """Exercise 2: with payloads and token traces on, the sample rate that keeps log ingestion
    within ``multiple`` times the metadata-only bill, checked by pricing the file at it."""
    rate = budget_sample_rate(params, multiple)
    meta = category_items(estimate(with_overrides(params, LEVELS["metadata only"])),
                          "observability").iloc[0].monthly_usd
    at = category_items(estimate(with_overrides(params, {
        **FULL_LOGGING, "observability.payload_sample_rate": rate})),
        "observability").iloc[0].monthly_usd
    return Markdown(
        f"Sample rate = ({multiple:g} - 1) x metadata bytes / (payload + trace bytes) = "
        f"**{rate:.2%}** of requests. Priced at that rate, ingestion costs {at:,.2f} USD a "
        f"month against {meta:,.2f} for metadata only ({at / meta:,.2f} times).")


def exercise_retention(params: Params, days: float = 365.0) -> Markdown:
    """Exercise 3: keep the logs ``days`` instead of the file's retention: the storage line
    before and after, and the steady state by hand (``GB/month / 30.417 x days x USD``)."""
    before = category_items(estimate(params), "observability").iloc[1]
    after_r = estimate(with_overrides(params, {"observability.retention_days": days}))
    after = category_items(after_r, "observability").iloc[1]
    ing = category_items(after_r, "observability").iloc[0]
    by_hand = (ing.quantity / (730 / 24) * days
               * params.observability.storage_compression_ratio * after.unit_usd)
    return Markdown(
        f"Storage at {params.observability.retention_days:g} days: {before.monthly_usd:,.2f} USD "
        f"a month; at {days:g} days: **{after.monthly_usd:,.2f} USD a month** (by hand: "
        f"{ing.quantity:,.1f} GB / 30.417 x {days:g} x {after.unit_usd:g} = {by_hand:,.2f}). "
        f"Ingestion does not change: retention only prices what is kept.")


def exercise_kms(params: Params, objects_per_key: float = 1000.0) -> Markdown:
    """Exercise 4: the KMS request bill without caching and with one data key per
    ``objects_per_key`` objects, by hand: ``requests x objects / per_key / 10,000 x USD``."""
    p, _ = kms_file(params)
    rows = {}
    for k in (1.0, objects_per_key):
        items = category_items(estimate(with_overrides(p, {"security.objects_per_data_key": k})),
                               "security")
        rows[k] = items[items["item"].str.startswith("KMS requests")].iloc[0]
    a, b = rows[1.0], rows[objects_per_key]
    s = p.security
    per_req = s.encrypted_writes_per_request + s.encrypted_reads_per_request
    reqs = estimate(p).workload["requests_per_month"]
    return Markdown(
        f"{reqs:,.0f} requests x {per_req:g} objects = {a.quantity * 1e4:,.0f} KMS requests a "
        f"month, at {a.unit_usd:g} USD per 10,000: **{a.monthly_usd:,.2f} USD**. With one data "
        f"key per {objects_per_key:,.0f} objects: {b.quantity * 1e4:,.0f} requests, "
        f"**{b.monthly_usd:,.2f} USD** (by hand: {reqs * per_req / objects_per_key / 1e4 * b.unit_usd:,.2f}).")


__all__ = ["Lesson", "start", "LEVELS", "FULL_LOGGING", "OBS_SHADES", "category_items",
           "category_usd", "settings_table", "prices_table", "unpriced_note", "bytes_by_level",
           "bytes_chart",
           "cost_by_level", "cost_by_level_chart", "logging_answer", "heavy_logging",
           "sample_rate_sweep", "sample_rate_chart", "sample_answer", "rank_table", "kms_file",
           "kms_sweep", "kms_chart", "kms_answer", "exercise_payload_ingestion",
           "budget_sample_rate", "exercise_sample_rate", "exercise_retention", "exercise_kms"]
