"""Observability: CloudWatch Logs, metrics, alarms, dashboards and X-Ray traces.

Baseline architecture (the defaults): every request writes one structured log line of about
1 KB (request id, model, token counts, latency; an assumption) to CloudWatch Logs, Standard log
class, kept 30 days; no prompt/response payloads, no token-level traces, no X-Ray, no custom
metrics (AWS-vended metrics are free). The article's "full payload logging" is
``log_payloads: true`` (prompt and response text per request) and ``token_level_traces: true``
(one log event per generated token); the levers are ``payload_sample_rate`` (keep a sample of
redacted exemplars) and ``log_sample_rate``.

CloudWatch Logs bills ingestion per GB and storage per GB-month; Logs Insights per GB scanned.
Storage is billed on compressed bytes; ``storage_compression_ratio`` defaults to 1 (no
credit taken) because the ratio depends on your logs. The free tier (5 GB/month) is not
deducted. Log bytes also travel to CloudWatch over the network (NAT or an interface endpoint):
:func:`costlib.formulas.logs.log_bytes_per_request` feeds the network hop.

References
----------
Prices: ``costlib/data/prices/observability.csv`` (each row with its source). X-Ray (the first
100,000 traces recorded a month free, then 5.00 USD per million): https://aws.amazon.com/xray/pricing/ ;
CloudWatch custom metrics (0.30 USD per metric-month for the first 10,000; the table holds only
that tier, so more metrics is an error): https://c3x.dev/blog/aws-cloudwatch-metrics-cost/ --
both looked up in the price tables as ``xray/traces/recorded`` and
``cloudwatch_metrics/custom_metric/metric_month`` (tiered) when present in the region, else
taken from the settings (``usd_per_1m_xray_traces``, ``usd_per_custom_metric_month``, which win
when given).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from costlib.bill.context import Context, price_book, price_or_error, tiered_price
import numpy as np

from costlib.bill.lineitems import LineItem, OptionOutcome, any_nonzero, fmt, line_item, num
from costlib.bill.plumbing.renamed import reject_renamed
from costlib.core.schema import Strict
from costlib.core.units import PER_1M
from costlib.formulas.logs import (
    DEFAULT_BYTES_PER_TOKEN_EVENT,
    DEFAULT_METADATA_BYTES,
    insights_gb_scanned,
    log_bytes_per_request,
    log_storage_gb_months,
)
from costlib.formulas.network import gb_per_month


class ObservabilitySettings(Strict):
    """The ``observability:`` block of a params file.

    Attributes
    ----------
    metadata_bytes_per_request : float
        Structured log bytes per request without payloads [bytes]; assumption.
    log_sample_rate : float
        Share of requests whose metadata line is logged [0-1].
    log_payloads : bool
        Log the full prompt and response text of each (sampled) request.
    token_level_traces : bool
        Log one event per generated token (token-level tracing).
    bytes_per_token_event : float
        Bytes of one token-level trace event (timestamp, ids, token, log-prob) [bytes];
        assumption.
    payload_sample_rate : float
        Share of requests whose payloads / token traces are logged [0-1]; the "sample logs,
        keep redacted exemplars" lever.
    payload_kept_fraction : float
        Share of payload bytes kept after redaction or truncation [0-1].
    payload_copies : int
        How many places log the same payload (your app and Bedrock model-invocation logging
        both writing to CloudWatch make 2) [-].
    retention_days : float
        Log retention [days]; storage is the steady state ``ingest/day x retention``.
    storage_compression_ratio : float
        Stored (compressed) bytes / ingested bytes [0-1]; 1 = no compression credit
        (conservative default, an assumption).
    insights_queries_per_day : float
        Logs Insights queries run per day [1/day].
    insights_days_scanned_per_query : float
        Days of logs each query scans [days].
    custom_metrics : int
        Custom metrics (each name + dimension set) [metrics].
    usd_per_custom_metric_month : float, optional
        Flat price per metric-month when the tables lack it [USD]. (Was
        ``custom_metric_usd_per_month``.)
    alarms : int
        Standard-resolution alarms [alarms].
    dashboards : int
        Dashboards [dashboards].
    trace_sample_rate : float
        Share of requests traced in X-Ray [0-1]. (The X-Ray SDK default rule records the first
        request each second and 5 % of the rest.)
    usd_per_1m_xray_traces : float, optional
        X-Ray price per million traces recorded when the tables lack it [USD]. (Was
        ``xray_usd_per_1m_traces``.)
    """

    metadata_bytes_per_request: float = Field(DEFAULT_METADATA_BYTES, ge=0)
    log_sample_rate: float = Field(1.0, ge=0, le=1)
    log_payloads: bool = False
    token_level_traces: bool = False
    bytes_per_token_event: float = Field(DEFAULT_BYTES_PER_TOKEN_EVENT, ge=0)
    payload_sample_rate: float = Field(1.0, ge=0, le=1)
    payload_kept_fraction: float = Field(1.0, ge=0, le=1)
    payload_copies: int = Field(1, ge=1)
    retention_days: float = Field(30.0, ge=1, le=3653)
    storage_compression_ratio: float = Field(1.0, gt=0, le=1)
    insights_queries_per_day: float = Field(0.0, ge=0)
    insights_days_scanned_per_query: float = Field(1.0, ge=0)
    custom_metrics: int = Field(0, ge=0)
    usd_per_custom_metric_month: float | None = Field(None, ge=0)
    alarms: int = Field(0, ge=0)
    dashboards: int = Field(0, ge=0)
    trace_sample_rate: float = Field(0.0, ge=0, le=1)
    usd_per_1m_xray_traces: float | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data):
        return reject_renamed(data, {"custom_metric_usd_per_month": "usd_per_custom_metric_month",
                                     "xray_usd_per_1m_traces": "usd_per_1m_xray_traces"})


# --------------------------------------------------------------------------------------------
# pricing


def request_log_bytes(settings: ObservabilitySettings, ctx: Context) -> float:
    """Log bytes per request for this context's workload (prompt includes retrieved context)."""
    s = settings
    w = ctx.workload
    return num(log_bytes_per_request(
        w.in_tokens, w.out_tokens, s.metadata_bytes_per_request, s.log_sample_rate,
        s.log_payloads, s.token_level_traces, s.bytes_per_token_event, s.payload_sample_rate,
        s.payload_kept_fraction, s.payload_copies))


def uses_xray(settings: ObservabilitySettings) -> bool:
    return bool(np.any(np.asarray(settings.trace_sample_rate) > 0))


def price_observability(settings: ObservabilitySettings, ctx: Context, option,
                        outcome: OptionOutcome) -> list[LineItem]:
    """Observability line items of one option for a month (always at least the log ingestion)."""
    s = settings
    reqs = ctx.requests_per_month
    ingest_gb = num(gb_per_month(request_log_bytes(s, ctx), reqs))
    what = "metadata"
    if s.log_payloads:
        what += " + prompt/response payloads"
    if s.token_level_traces:
        what += " + token-level traces"
    p = ctx.price("cloudwatch_logs", "standard", "ingest")
    items = [line_item("observability", f"CloudWatch Logs ingestion ({what})", ingest_gb, "GB",
                       p.usd, p.source)]
    p = ctx.price("cloudwatch_logs", "standard", "store")
    stored = num(log_storage_gb_months(ingest_gb, s.retention_days, s.storage_compression_ratio))
    items.append(line_item("observability", f"CloudWatch Logs storage ({fmt(s.retention_days)}-day "
                           "retention)", stored, "GB-month", p.usd, p.source))
    if any_nonzero(s.insights_queries_per_day):
        p = ctx.price("cloudwatch_logs", "standard", "query")
        scanned = num(insights_gb_scanned(ingest_gb, s.insights_queries_per_day,
                                            s.insights_days_scanned_per_query))
        items.append(line_item("observability", "CloudWatch Logs Insights scans", scanned,
                               "GB scanned", p.usd, p.source))
    if any_nonzero(s.custom_metrics):
        book = price_book(ctx)
        if s.usd_per_custom_metric_month is None and book.has(
                "cloudwatch_metrics", "custom_metric", "metric_month"):
            p = tiered_price(ctx, "cloudwatch_metrics", "custom_metric", "metric_month",
                             s.custom_metrics)
        else:
            p = price_or_error(ctx, "cloudwatch_metrics", "custom_metric", "metric_month",
                               s.usd_per_custom_metric_month,
                               "observability.usd_per_custom_metric_month")
        items.append(line_item("observability", "CloudWatch custom metrics", s.custom_metrics,
                               "metric-month", p.usd, p.source, fixed=True))
    if any_nonzero(s.alarms):
        p = ctx.price("cloudwatch_alarms", "standard_resolution", "alarm_month")
        items.append(line_item("observability", "CloudWatch alarms", s.alarms, "alarm-month",
                               p.usd, p.source, fixed=True))
    if any_nonzero(s.dashboards):
        p = ctx.price("cloudwatch_dashboards", "dashboard", "dashboard_month")
        items.append(line_item("observability", "CloudWatch dashboards", s.dashboards,
                               "dashboard-month", p.usd, p.source, fixed=True))
    if uses_xray(s):
        traces_m = reqs * s.trace_sample_rate / PER_1M
        book = price_book(ctx)
        if s.usd_per_1m_xray_traces is None and book.has("xray", "traces", "recorded"):
            # the table's tiers: the always-free first 100,000 traces, then 5.00 USD per million
            p = tiered_price(ctx, "xray", "traces", "recorded", traces_m)
        else:
            p = price_or_error(ctx, "xray", "traces", "recorded", s.usd_per_1m_xray_traces,
                               "observability.usd_per_1m_xray_traces")
        items.append(line_item("observability", f"X-Ray traces recorded "
                               f"({fmt(s.trace_sample_rate, '.0%')} sampled)",
                               traces_m, "1M traces", p.usd, p.source))
    return items
