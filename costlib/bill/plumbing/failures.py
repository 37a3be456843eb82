"""Failure modes that multiply cost: retries under throttling, discarded work, Spot, OOM, cache
stampedes.

Who bills a failed attempt
--------------------------
- A Bedrock ``ThrottlingException`` (HTTP 429) is, in AWS's words, a request "denied due to
  exceeding the account quotas" (Bedrock Runtime API reference, ThrottlingException): it is
  rejected before inference. That it is therefore not billed is our reading (no AWS statement
  found that says so in as many words), so ``billed_share_of_throttled_attempts`` defaults
  to 0 and is a parameter. The same default applies to a self-hosted fleet whose load balancer
  or queue rejects excess requests.
- What does cost tokens twice is an attempt that was processed (billed) and then discarded: a
  client timeout during an overloaded peak, a dropped stream, a 5xx after generation. Two
  parameters carry it: ``billed_share_of_throttled_attempts`` (set it to 1 when overload shows
  up as timeouts after full generation) and ``discarded_after_processing_fraction`` (the
  share of successful-looking attempts discarded anyway, at any load).

The inference line items bill every request once. This module prices what comes on top: the
billed share of *retried* attempts. A request that fails every attempt is unserved, not billed
again (shown as a zero-cost count).

Retry policies
--------------
- ``naive``: immediate retries, up to ``max_attempts`` in all, in the same minute. The
  per-minute quota is already spent, so every retry of a throttled request fails too:
  throttling feeds itself, attempts multiply by ``max_attempts``, nothing is recovered.
- ``budgeted``: retries with backoff capped at ``retry_budget_fraction`` of requests (a retry
  token bucket such as the AWS SDK's standard mode); they land in the next minute and are
  served where that minute has spare quota.
- ``none``: failures are final.

For self-hosted fleets the extra work is capacity, not tokens: it is priced at the instance-hour
price only when the fleet is ``autoscaled`` (it scales out for the load); a fixed or scheduled
fleet absorbs it in spare capacity or leaves traffic unserved, shown at 0 USD. Spot warm-up is
already priced by the self-hosted option (``failures``: replacements booting); here only the
recomputation of in-flight requests is added. Cold starts are inside the fleet's billed
instance-hours and are not repeated.

Baseline (defaults): AWS SDK standard retry mode (3 attempts, backoff, a retry budget of 10 %,
an assumption), throttled attempts not billed, nothing discarded after processing, no OOM
restarts, no deploys that invalidate a response cache.

The formulas (admitted rate, throttled and retried rates, stampedes, recomputation) are in
:mod:`costlib.formulas.retries`.

References
----------
Bedrock Runtime API reference, ThrottlingException. AWS SDKs and Tools reference guide,
"Retry behavior" (standard mode: 3 attempts by default, exponential backoff, retry quota).
Reference article: "Overzealous retries on 429/5xx: doubled token spend. Add backoff and
budgets"; "Watch out for the cache stampede at deploy and pre-warm hot keys".
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from costlib.bill.context import Context, leaf_shares
from costlib.bill.lineitems import LineItem, OptionOutcome, any_nonzero, fmt, line_item, num
from costlib.core.schema import Strict
from costlib.core.units import SECONDS_PER_MONTH
from costlib.formulas import retries
from costlib.formulas.fleet import spot_overhead
from costlib.formulas.retries import (
    allowed_rps,
    capacity_lost_hours,
    oom_restarts,
    recompute_instance_hours,
    stampede_extra_misses,
)
from costlib.formulas.tokens import capacity_tokens_per_s, usd_per_request


class FailureSettings(Strict):
    """The ``failures:`` block of a params file.

    Attributes
    ----------
    retry_policy : {"budgeted", "naive", "none"}
        How clients retry failed attempts (see the module notes).
    max_attempts : int
        Attempts per request including the first [-]; 3 is the AWS SDK standard-mode default.
    retry_budget_fraction : float
        ``budgeted``: retries allowed as a share of requests [0-1]; assumption 0.1.
    billed_share_of_throttled_attempts : float
        Share of a throttled / overloaded attempt's tokens billed before it fails [0-1]:
        0 for a 429 rejected before inference, 1 for a client timeout after full generation.
    discarded_after_processing_fraction : float
        Share of served attempts processed (billed) and then discarded -- dropped streams,
        5xx after generation, client cancels -- and retried [0-1]; from your own metrics.
    oom_restarts_per_instance_month : float
        Self-hosted: server restarts after out-of-memory errors (long contexts), per
        instance-month [1/(instance*month)]; from your own logs.
    oom_restart_min : float, optional
        Minutes an instance serves nothing after an OOM [min]; default the fleet's
        ``cold_start_min`` (conservative).
    deploys_per_month : float
        Router with a response cache: deploys that invalidate the cache [1/month].
    cold_cache_minutes : float
        Minutes of fully cold cache equivalent after each invalidation [min]; assumption.
    prewarm_fraction : float
        Share of the hit traffic whose keys are pre-warmed before the switch [0-1]; the lever.
    prewarm_keys : float
        Answers generated to pre-warm per deploy [requests].
    """

    retry_policy: Literal["budgeted", "naive", "none"] = "budgeted"
    max_attempts: int = Field(3, ge=1, le=20)
    retry_budget_fraction: float = Field(0.1, ge=0, le=1)
    billed_share_of_throttled_attempts: float = Field(0.0, ge=0, le=1)
    discarded_after_processing_fraction: float = Field(0.0, ge=0, le=1)
    oom_restarts_per_instance_month: float = Field(0.0, ge=0)
    oom_restart_min: float | None = Field(None, ge=0)
    deploys_per_month: float = Field(0.0, ge=0)
    cold_cache_minutes: float = Field(30.0, ge=0)
    prewarm_fraction: float = Field(0.0, ge=0, le=1)
    prewarm_keys: float = Field(0.0, ge=0)


# --------------------------------------------------------------------------------------------
# per-option retry accounting


def retry_accounting(s: FailureSettings, demand_rps, allowed, **steps) -> dict:
    """Monthly retries, extra billed request-equivalents and unserved requests of a policy.

    :func:`costlib.formulas.retries.retry_accounting` with the settings of the block.

    Parameters
    ----------
    s : FailureSettings
    demand_rps : array_like
        Demand per step [requests/s] (a profile's ``rps``; one value for an aggregate).
    allowed : float
        Admitted rate [requests/s].

    Returns
    -------
    dict
        ``throttled``, ``retries``, ``extra_billed``, ``unserved`` [requests/month].
    """
    return retries.retry_accounting(
        demand_rps, allowed, s.retry_policy, s.max_attempts, s.retry_budget_fraction,
        s.billed_share_of_throttled_attempts, s.discarded_after_processing_fraction, **steps)


def _bedrock_usd_per_request(ctx: Context, leaf) -> tuple[float, str]:
    w = ctx.workload
    if leaf.kind == "managed_api":
        model = leaf.model
        p_in = ctx.price("bedrock", model, "input", leaf.usd_per_1m_input_tokens)
        p_out = ctx.price("bedrock", model, "output", leaf.usd_per_1m_output_tokens)
    else:  # provisioned: extra attempts at peak spill to on-demand prices
        model = leaf.spill_model or leaf.model
        p_in = ctx.price("bedrock", model, "input")
        p_out = ctx.price("bedrock", model, "output")
    usd = num(usd_per_request(w.in_tokens, w.out_tokens, p_in.usd, p_out.usd))
    return usd, f"{model} input + output prices: {p_in.source}"


def _col(x):
    """A per-scenario value as an (N, 1) column against (N, K) steps."""
    return np.reshape(np.asarray(x, dtype=float), (-1, 1))


def _detail(details: dict, key: str):
    """A number from an option's details (0 when absent or None)."""
    v = details.get(key)
    return 0.0 if v is None else num(v)


def _instance_hour_price(outcome: OptionOutcome) -> tuple[float, str]:
    for li in outcome.line_items:
        if li.unit == "instance-hour" and li.category == "inference":
            return li.unit_usd, li.source
    return 0.0, ""


def _leaf_items(s: FailureSettings, ctx: Context, label: str, leaf, share: float,
                outcome: OptionOutcome | None) -> list[LineItem]:
    items = []
    traffic = ctx.traffic.scaled(share)
    prefix = f"{label}: " if label else ""
    if leaf.kind in ("managed_api", "provisioned"):
        quota = getattr(leaf, "quota", None)
        allowed = (allowed_rps(ctx.tokens_per_request, quota.requests_per_minute,
                               quota.tokens_per_minute) if quota is not None else np.inf)
        if np.all(np.isinf(np.asarray(allowed, dtype=float))):
            # no quota: nothing is throttled and every term is proportional to the demand, so
            # the month's figures are those of the average rate
            avg = _col(traffic.avg_rps)
            acc = retry_accounting(s, avg, np.inf, weights=np.ones(1))
        else:
            values, weights = traffic.distinct(traffic.u, np.roll(traffic.u, -1))
            rps, next_rps = traffic.rates(values[0]), traffic.rates(values[1])
            acc = retry_accounting(s, rps, _col(allowed), weights=weights,
                                   next_demand_rps=next_rps if traffic.n_steps > 1 else None)
        usd, src = _bedrock_usd_per_request(ctx, leaf)
        items.append(line_item("failures", f"{prefix}retried attempts billed again "
                               f"({s.retry_policy} retries, {fmt(acc['retries'], ',.0f')} retries/month)",
                               acc["extra_billed"], "request", usd, src))
        items.append(line_item("failures", f"{prefix}requests failed after retries (unserved, "
                               "not billed)", acc["unserved"], "request", 0.0, "count only"))
        return items
    if leaf.kind != "self_hosted" or outcome is None:
        return items
    d = outcome.details
    total = num(traffic.avg_rps * SECONDS_PER_MONTH)
    u = _detail(d, "unserved_fraction")
    avg = _col(total / SECONDS_PER_MONTH)
    acc = retry_accounting(s, avg, avg * (1.0 - _col(u)), weights=np.ones(1))
    cap_tps = num(capacity_tokens_per_s(_detail(d, "tokens_per_second_per_instance"),
                                        _detail(d, "batch_size")))
    hour_usd, src = _instance_hour_price(outcome)
    scales = leaf.fleet.policy == "autoscaled"
    unit_usd = hour_usd if scales else 0.0
    src = src if scales else f"{leaf.fleet.policy} fleet: absorbed or unserved, no extra bill"

    def inst_hours(requests):
        return recompute_instance_hours(requests, ctx.tokens_per_request, cap_tps)

    items.append(line_item("failures", f"{prefix}retried attempts recomputed ({s.retry_policy} "
                           f"retries; capacity-equivalent)", inst_hours(acc["extra_billed"]),
                           "instance-hour", unit_usd, src))
    items.append(line_item("failures", f"{prefix}requests failed after retries (unserved)",
                           acc["unserved"], "request", 0.0, "count only"))
    # every inference instance-hour item: under buying: a fleet's hours are split by how bought
    billed_hours = sum((li.quantity for li in outcome.line_items
                        if li.unit == "instance-hour" and li.category == "inference"), 0.0)
    if leaf.fleet.spot is not None:
        sp = spot_overhead(billed_hours, leaf.fleet.spot.interruptions_per_instance_month,
                           leaf.fleet.cold_start_min,
                           leaf.fleet.spot.in_flight_requests_per_instance)
        items.append(line_item("failures", f"{prefix}spot interruptions: in-flight requests "
                               "recomputed (capacity-equivalent)",
                               inst_hours(sp.recomputed_requests_per_month), "instance-hour",
                               unit_usd, src))
    if any_nonzero(s.oom_restarts_per_instance_month):
        restarts = num(oom_restarts(s.oom_restarts_per_instance_month, billed_hours))
        minutes = leaf.fleet.cold_start_min if s.oom_restart_min is None else s.oom_restart_min
        items.append(line_item("failures", f"{prefix}OOM restarts: capacity lost ({fmt(restarts, '.1f')} "
                               "restarts; already billed in instance-hours)",
                               num(capacity_lost_hours(restarts, minutes)), "instance-hour", 0.0,
                               "count only (inside the fleet's billed hours)"))
        items.append(line_item("failures", f"{prefix}OOM restarts: in-flight requests recomputed "
                               "(capacity-equivalent)",
                               inst_hours(restarts * _detail(d, "batch_size")),
                               "instance-hour", unit_usd, src))
    return items


def _stampede_items(s: FailureSettings, ctx: Context, option,
                    outcome: OptionOutcome) -> list[LineItem]:
    if getattr(option, "kind", None) != "router" or option.cache is None:
        return []
    hit = option.cache.hit_fraction
    reqs = ctx.requests_per_month
    misses = reqs * (1.0 - hit)
    routes = outcome.details.get("routes", {}) if outcome is not None else {}
    routed_usd = sum(r.get("monthly_usd", 0.0) for r in routes.values())
    m = np.asarray(misses, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        usd_per_miss = num(np.where(m > 0, routed_usd / np.where(m > 0, m, 1.0), 0.0))
    src = "routes' average cost per request (this estimate)"
    extra = num(stampede_extra_misses(s.deploys_per_month, hit, ctx.traffic.avg_rps,
                                        s.cold_cache_minutes, s.prewarm_fraction))
    items = [line_item("failures", f"cache stampede after deploys ({fmt(s.deploys_per_month)}/month, "
                       f"{fmt(s.cold_cache_minutes)} cold min, {fmt(s.prewarm_fraction, '.0%')} "
                       "pre-warmed)",
                       extra, "request", usd_per_miss, src)]
    if any_nonzero(s.prewarm_keys) and any_nonzero(s.deploys_per_month):
        items.append(line_item("failures", "cache pre-warming answers", s.prewarm_keys
                               * s.deploys_per_month, "request", usd_per_miss, src))
    return items


def price_failures(settings: FailureSettings, ctx: Context, option,
                   outcome: OptionOutcome) -> list[LineItem]:
    """Failure-mode line items of one option for a month (at least one, maybe of quantity 0).

    A router's routes are accounted at their share of its traffic; a self-hosted route's
    figures come from ``ctx.evaluate`` (the estimate's own evaluation of that route).
    """
    items: list[LineItem] = []
    is_router = getattr(option, "kind", None) == "router"
    for name, leaf, share in leaf_shares(ctx, option):
        leaf_outcome = outcome
        if is_router and leaf.kind == "self_hosted":
            leaf_outcome = ctx.evaluate(name, share) if ctx.evaluate is not None else None
        items.extend(_leaf_items(settings, ctx, name or "", leaf, share, leaf_outcome))
    items.extend(_stampede_items(settings, ctx, option, outcome))
    if not items:
        items.append(line_item("failures", "no failure mode priced", 0.0, "request", 0.0,
                               "params file"))
    return items


__all__ = ["FailureSettings", "retry_accounting", "price_failures"]
