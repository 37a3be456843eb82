"""Lesson 07, the failure modes that multiply cost (``notebooks/07_failures.ipynb``).

The question: what do throttling, retries, discarded work, Spot interruptions, OOM restarts and
cache stampedes add to the bill, and what do they take from the traffic served? The decision it
informs: which retry policy to ship, how much quota to ask for, and whether to pre-warm caches
and run real-time inference on Spot.

Every number comes from the bill's failure pricer (:mod:`costlib.bill.plumbing.failures`) on
the params file in force, with keys overridden (:func:`costlib.bill.params.with_overrides`) or
swept as arrays (:func:`costlib.bill.vector.price_many`); the attempt counts come from
:func:`costlib.formulas.retries.retry_accounting`, the formula the pricer runs.

References
----------
Bedrock Runtime API reference, ThrottlingException; Amazon Bedrock user guide, "Quotas for the
bedrock-runtime endpoint"; AWS SDKs and Tools reference guide, "Retry behavior" (standard mode:
3 attempts, backoff, a retry quota). The reference article: "Overzealous retries on 429/5xx:
doubled token spend. Add backoff and budgets"; "Retry with budgets"; "Spot interruptions
during load: recomputation and retries"; "Watch out for the cache stampede at deploy and
pre-warm hot keys".
"""

from __future__ import annotations

from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params, with_overrides
from costlib.bill.traffic import workload_profile
from costlib.bill.vector import price_many
from costlib.core.paths import PARAMS_DIR
from costlib.core.units import HOURS_PER_MONTH, SECONDS_PER_HOUR
from costlib.formulas.retries import allowed_rps, retry_accounting
from costlib.lessons import Lesson, charts, start

POLICIES = ("none", "budgeted", "naive")
"""The retry policies of ``failures.retry_policy``, from no retries to immediate ones."""

BILLED_CASES = {"a 429, not billed (share 0)": 0.0,
                "a timeout, billed (share 1)": 1.0}
"""The two readings of ``failures.billed_share_of_throttled_attempts`` the lesson compares."""

POLICY_COLORS = {"none": "#bab0ac", "budgeted": "#4c78a8",
                 "naive": charts.CATEGORY_COLORS["failures"]}
"""One colour per retry policy (naive in the failures colour of the category palette)."""

SPOT_DISCOUNT_PCT = 60.0
"""Spot discount the Spot exercise assumes when the file gives none [% off on demand]; the
instance-hours redone do not depend on it."""

QUOTA_SHARE_OF_PEAK = 0.8
"""The quota the lesson adds when the file's is absent or never binds: 80 % of the busiest
minute's request rate [-], so the peak minutes are throttled."""


# --------------------------------------------------------------------------------------------
# reading an estimate


def _option(result: Estimate, name: str):
    return next(o for o in result.options if o.name == name)


def failure_items(result: Estimate) -> pd.DataFrame:
    """Every failures line item of every option: option, item, quantity, unit, unit price,
    monthly USD [USD/month] and source."""
    rows = [{"option": o.name, "item": li.item, "quantity": li.quantity, "unit": li.unit,
             "unit_usd": li.unit_usd, "monthly_usd": li.monthly_usd, "source": li.source}
            for o in result.options for li in o.line_items if li.category == "failures"]
    return pd.DataFrame(rows)


def failures_usd(result: Estimate, option: str) -> float:
    """Monthly USD of an option's failures category [USD/month]."""
    return float(sum(li.monthly_usd for li in _option(result, option).line_items
                     if li.category == "failures"))


def _item_quantity(result: Estimate, option: str, starts: str) -> float:
    return float(sum(li.quantity for li in _option(result, option).line_items
                     if li.category == "failures" and starts in li.item))


def settings_table(params: Params) -> pd.DataFrame:
    """The ``failures:`` block as the estimate reads it (defaults filled in), one row per key,
    with each option's quota and fleet settings that failures depend on."""
    rows = [{"key": f"failures.{k}", "value": str(v)}
            for k, v in params.failures.model_dump(mode="json").items()]
    for name, opt in params.options.items():
        if getattr(opt, "quota", None) is not None:
            rows.append({"key": f"options.{name}.quota",
                         "value": str(opt.quota.model_dump(mode="json"))})
        fleet = getattr(opt, "fleet", None)
        if fleet is not None:
            rows.append({"key": f"options.{name}.fleet.policy", "value": fleet.policy})
            rows.append({"key": f"options.{name}.fleet.spot",
                         "value": str(None if fleet.spot is None
                                      else fleet.spot.model_dump(mode="json"))})
    return pd.DataFrame(rows).set_index("key")


# --------------------------------------------------------------------------------------------
# the quota


class QuotaCase(NamedTuple):
    """The managed option whose retries the lesson prices, and the quota it is priced under.

    Attributes
    ----------
    option : str or None
        A ``managed_api`` option of the file (None when it has none).
    overrides : dict
        Params overrides that give it a binding quota (empty when the file's binds).
    allowed_rps : float
        Request rate the quota admits [requests/s].
    peak_rps : float
        Busiest minute of the traffic [requests/s].
    note : str
        What the lesson changed, in a sentence (or that it changed nothing).
    """

    option: str | None
    overrides: dict
    allowed_rps: float
    peak_rps: float
    note: str


def _profile(params: Params):
    base = params.source_path.parent if params.source_path is not None else PARAMS_DIR
    return workload_profile(params.workload, base)


def quota_case(params: Params) -> QuotaCase:
    """The first ``managed_api`` option and a quota that binds at the peak.

    The file's own quota when it admits less than the busiest minute
    (:func:`costlib.formulas.retries.allowed_rps` with the priced tokens per request), else a
    requests-per-minute quota of :data:`QUOTA_SHARE_OF_PEAK` x peak rate x 60 [requests/min]
    set through overrides.
    """
    managed = [n for n, o in params.options.items() if o.kind == "managed_api"]
    peak = float(np.max(_profile(params).rps))
    if not managed:
        return QuotaCase(None, {}, np.inf, peak, "This params file has no managed_api option, "
                         "so there is no per-minute quota to throttle against.")
    name = managed[0]
    quota = params.options[name].quota
    w = estimate(params).workload
    tpr = w["in_tokens"] + w["out_tokens"]
    if quota is not None:
        allowed = float(allowed_rps(tpr, quota.requests_per_minute, quota.tokens_per_minute))
        if allowed < peak:
            return QuotaCase(name, {}, allowed, peak,
                             f"{name} has a quota in the params file that admits "
                             f"{allowed:,.2f} requests/s against a peak of {peak:,.2f}: it binds, "
                             f"and the lesson uses it as filed.")
    rpm = QUOTA_SHARE_OF_PEAK * peak * 60.0
    why = "has no quota in the params file" if quota is None else "has a quota that never binds"
    return QuotaCase(name, {f"options.{name}.quota.requests_per_minute": rpm},
                     float(allowed_rps(tpr, rpm, None if quota is None
                                       else quota.tokens_per_minute)), peak,
                     f"{name} {why}, so this lesson adds one through overrides: "
                     f"options.{name}.quota.requests_per_minute = {rpm:,.0f} "
                     f"({QUOTA_SHARE_OF_PEAK:.0%} of the peak of {peak:,.2f} requests/s), which "
                     f"throttles the busiest minutes.")


# --------------------------------------------------------------------------------------------
# what naive retries do


def retry_policies(params: Params) -> pd.DataFrame:
    """The managed option under a binding quota, priced with each retry policy and each
    reading of who bills a throttled attempt.

    For each policy of :data:`POLICIES` and each case of :data:`BILLED_CASES`, the file with
    ``failures.retry_policy`` and ``failures.billed_share_of_throttled_attempts`` overridden
    (and :func:`quota_case`'s quota) priced by :func:`costlib.bill.estimate.estimate`. Columns:
    ``requests`` [requests/month], ``retries`` and ``attempts`` sent to the API
    (:func:`costlib.formulas.retries.retry_accounting` on the traffic's minutes)
    [requests/month], ``attempts_per_request`` [-], ``throttled`` and ``unserved``
    [requests/month], ``unserved_pct`` [%], ``extra_billed`` [request-equivalents/month],
    ``failures_usd`` and ``total_usd`` [USD/month].
    """
    case = quota_case(params)
    if case.option is None:
        return pd.DataFrame()
    rps = np.asarray(_profile(params).rps, dtype=float)
    rows = []
    for label, share in BILLED_CASES.items():
        for policy in POLICIES:
            over = {**case.overrides, "failures.retry_policy": policy,
                    "failures.billed_share_of_throttled_attempts": share}
            p = with_overrides(params, over)
            result = estimate(p)
            f = p.failures
            acc = retry_accounting(rps, case.allowed_rps, policy, f.max_attempts,
                                   f.retry_budget_fraction, share,
                                   f.discarded_after_processing_fraction)
            reqs = result.workload["requests_per_month"]
            o = _option(result, case.option)
            rows.append({
                "case": label, "policy": policy, "requests": reqs, "retries": acc["retries"],
                "attempts": reqs + acc["retries"],
                "attempts_per_request": (reqs + acc["retries"]) / reqs,
                "throttled": acc["throttled"],
                "unserved": _item_quantity(result, case.option, "failed after retries"),
                "extra_billed": _item_quantity(result, case.option, "billed again"),
                "failures_usd": failures_usd(result, case.option), "total_usd": o.monthly_usd})
    frame = pd.DataFrame(rows)
    frame["unserved_pct"] = 100.0 * frame["unserved"] / frame["requests"]
    return frame


def retry_chart(frame: pd.DataFrame) -> alt.HConcatChart:
    """What do naive retries do to the bill, and to the requests served? Two panels per policy:
    the failures category [USD/month] under each billing case, and the unserved share [%]."""
    cases = list(BILLED_CASES)
    usd = alt.Chart(frame).mark_bar().encode(
        x=alt.X("failures_usd:Q", title="retries billed again [USD/month]"),
        y=alt.Y("policy:N", sort=list(POLICIES), title=None),
        yOffset=alt.YOffset("case:N", sort=cases),
        color=charts.case_color("case", labels=cases, title="a throttled attempt is"),
        tooltip=["policy", "case", alt.Tooltip("failures_usd:Q", format=",.2f")],
    ).properties(width=charts.WIDTH // 2, height=charts._rows_height(2 * len(POLICIES), 24))
    served = alt.Chart(frame[frame["case"] == cases[0]]).mark_bar(
        color=charts.CATEGORY_COLORS["failures"]).encode(
        x=alt.X("unserved_pct:Q", title="requests never served [% of requests]"),
        y=alt.Y("policy:N", sort=list(POLICIES), title=None),
        tooltip=["policy", alt.Tooltip("unserved_pct:Q", format=".3f"),
                 alt.Tooltip("attempts_per_request:Q", format=".3f")],
    ).properties(width=charts.WIDTH // 2, height=charts._rows_height(2 * len(POLICIES), 24))
    return alt.hconcat(usd, served)


def retry_answer(frame: pd.DataFrame, params: Params) -> Markdown:
    """The answer to "what do naive retries do?" in this file's figures."""
    if frame.empty:
        return Markdown(quota_case(params).note)
    zero, one = list(BILLED_CASES)
    g = frame.set_index(["case", "policy"])
    n, b, z = g.loc[(zero, "naive")], g.loc[(zero, "budgeted")], g.loc[(zero, "none")]
    n1, b1 = g.loc[(one, "naive")], g.loc[(one, "budgeted")]
    return Markdown(
        f"Against this quota {n.throttled:,.0f} of {n.requests:,.0f} requests a month "
        f"({100 * n.throttled / n.requests:.2f} %) arrive in a minute whose quota is spent. "
        f"Naive retries send {n.attempts_per_request:.3f} attempts per request "
        f"({n.retries:,.0f} retries a month) and still leave {n.unserved:,.0f} requests "
        f"unserved ({n.unserved_pct:.2f} %), exactly as many as no retries at all "
        f"({z.unserved:,.0f}): the retries land in the same spent minute. Budgeted retries with "
        f"backoff send {b.attempts_per_request:.3f} attempts per request and leave "
        f"{b.unserved:,.0f} unserved: backoff serves a retry only when the next minute has "
        f"spare quota, which recovers {z.unserved - b.unserved:,.0f} requests here; what the budget buys is "
        f"a cap on the extra load ({b.retries:,.0f} retries, never more than "
        f"{params.failures.retry_budget_fraction:.0%} of a minute's requests). When a throttled attempt is a 429 rejected before "
        f"inference, none of this is billed ({n.failures_usd:,.2f} USD a month for naive). "
        f"When overload shows up as client timeouts after the answer was generated, naive "
        f"retries cost {n1.failures_usd:,.2f} USD a month on top of the "
        f"{n1.total_usd - n1.failures_usd:,.2f} of the rest of the bill, against "
        f"{b1.failures_usd:,.2f} for budgeted ones.")


# --------------------------------------------------------------------------------------------
# how tight a quota


def quota_sweep(params: Params, shares=None) -> pd.DataFrame:
    """Unserved share and retries against the quota, per retry policy.

    One :func:`costlib.bill.vector.price_many` call per policy over
    ``options.<managed>.quota.requests_per_minute`` = share x peak x 60 [requests/min] for
    ``shares`` of the peak rate [-]. Columns ``quota_share_of_peak`` [-],
    ``requests_per_minute``, ``policy``, ``unserved_pct`` [%], ``failures_usd`` at the file's
    billed share [USD/month]. Empty without a managed option.
    """
    case = quota_case(params)
    if case.option is None:
        return pd.DataFrame()
    shares = np.linspace(0.3, 1.1, 17) if shares is None else np.asarray(shares, dtype=float)
    rpm = shares * case.peak_rps * 60.0
    key = f"options.{case.option}.quota.requests_per_minute"
    frames = []
    for policy in POLICIES:
        p = with_overrides(params, {**case.overrides, "failures.retry_policy": policy})
        bill = price_many(p, {key: rpm})
        items = bill.options[case.option]
        unserved = sum((i.quantity for i in items if i.category == "failures"
                        and "failed after retries" in i.item), np.zeros(len(rpm)))
        frames.append(pd.DataFrame({
            "quota_share_of_peak": shares, "requests_per_minute": rpm, "policy": policy,
            "unserved_pct": 100.0 * np.asarray(unserved) / bill.requests_per_month,
            "failures_usd": np.asarray(bill.by_category(case.option).get(
                "failures", np.zeros(len(rpm))), dtype=float)}))
    return pd.concat(frames, ignore_index=True)


def quota_chart(frame: pd.DataFrame) -> alt.Chart:
    """How much traffic does each retry policy lose as the quota tightens?"""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("quota_share_of_peak:Q", title="quota [share of the peak request rate]",
                axis=alt.Axis(format="%")),
        y=alt.Y("unserved_pct:Q", title="requests never served [% of requests]"),
        color=alt.Color("policy:N", title="retry policy", sort=list(POLICIES),
                        scale=alt.Scale(domain=list(POLICY_COLORS),
                                        range=list(POLICY_COLORS.values()))),
        tooltip=["policy", alt.Tooltip("requests_per_minute:Q", format=",.0f"),
                 alt.Tooltip("unserved_pct:Q", format=".3f")],
    ).properties(width=charts.WIDTH, height=charts.HEIGHT)


def quota_needed(params: Params) -> Markdown:
    """The requests-per-minute quota that throttles nothing (peak rate x 60, and the tokens per
    minute that takes: x tokens per request), checked by pricing the file at it."""
    case = quota_case(params)
    if case.option is None:
        return Markdown(case.note)
    rpm = float(np.ceil(case.peak_rps * 60.0))
    w = estimate(params).workload
    tpm = rpm * (w["in_tokens"] + w["out_tokens"])
    key = f"options.{case.option}.quota"
    result = estimate(with_overrides(params, {key: {"requests_per_minute": rpm}}))
    thr = _option(result, case.option).details.get("throttled_fraction", 0.0)
    return Markdown(
        f"The busiest minute runs at {case.peak_rps:,.2f} requests/s, so a quota of "
        f"**{rpm:,.0f} requests a minute** (and, if the quota counts tokens, "
        f"{rpm:,.0f} x {w['in_tokens'] + w['out_tokens']:,.0f} = **{tpm:,.0f} tokens a "
        f"minute**) throttles nothing. Priced at that quota, the share of {case.option}'s "
        f"requests throttled is {thr:.4f}.")


# --------------------------------------------------------------------------------------------
# discarded work, recomputation, stampedes


def discarded_sweep(params: Params, fractions=None) -> pd.DataFrame:
    """Failures USD per option against the share of attempts processed and then discarded.

    One :func:`costlib.bill.vector.price_many` call over
    ``failures.discarded_after_processing_fraction`` [0-1]; columns ``discarded_fraction``,
    ``option``, ``failures_usd`` [USD/month], ``failures_instance_hours`` (self-hosted work
    redone, priced only for autoscaled fleets) [instance-hours/month].
    """
    values = np.linspace(0.0, 0.1, 11) if fractions is None else np.asarray(fractions, float)
    bill = price_many(params, {"failures.discarded_after_processing_fraction": values})
    frames = []
    for name, items in bill.options.items():
        usd = bill.by_category(name).get("failures", np.zeros(len(values)))
        hours = sum((i.quantity for i in items if i.category == "failures"
                     and i.unit == "instance-hour"), np.zeros(len(values)))
        frames.append(pd.DataFrame({"discarded_fraction": values, "option": name,
                                    "failures_usd": np.asarray(usd, dtype=float),
                                    "failures_instance_hours": np.asarray(hours, dtype=float)}))
    return pd.concat(frames, ignore_index=True)


def discarded_chart(frame: pd.DataFrame) -> alt.Chart:
    """What does work thrown away after it was processed cost each option?"""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("discarded_fraction:Q", title="attempts processed, then discarded and retried [-]",
                axis=alt.Axis(format="%")),
        y=alt.Y("failures_usd:Q", title="failures [USD/month]"),
        color=alt.Color("option:N", title="option"),
        tooltip=["option", alt.Tooltip("discarded_fraction:Q", format=".0%"),
                 alt.Tooltip("failures_usd:Q", format=",.2f"),
                 alt.Tooltip("failures_instance_hours:Q", format=",.1f")],
    ).properties(width=charts.WIDTH, height=charts.HEIGHT)


def discarded_note(params: Params) -> Markdown:
    """Which self-hosted fleets absorb redone work at 0 USD (fixed or scheduled fleets)."""
    fixed = [n for n, o in params.options.items() if o.kind == "self_hosted"
             and o.fleet.policy != "autoscaled"]
    if not fixed:
        return Markdown("Every option here pays for redone work: managed options by the token, "
                        "autoscaled fleets by the instance-hour.")
    return Markdown(
        f"{', '.join(fixed)}: a {params.options[fixed[0]].fleet.policy} fleet does not scale out "
        f"for redone work, so its line stays at 0 USD: the work takes spare capacity, or "
        f"traffic goes unserved (the instance-hours it redoes are in the tooltip).")


def self_hosted(params: Params) -> list[str]:
    """Names of the file's ``self_hosted`` options."""
    return [n for n, o in params.options.items() if o.kind == "self_hosted"]


def oom_sweep(params: Params, rates=None) -> pd.DataFrame:
    """Instance-hours lost and recomputed against OOM restarts, per self-hosted option.

    One :func:`costlib.bill.vector.price_many` call over
    ``failures.oom_restarts_per_instance_month`` [1/(instance*month)]; columns
    ``restarts_per_instance_month``, ``option``, ``lost_hours`` (instances down after each
    restart, inside the billed hours), ``recomputed_hours`` (in-flight requests redone)
    [instance-hours/month]. Empty without a self-hosted option.
    """
    names = self_hosted(params)
    if not names:
        return pd.DataFrame()
    values = np.array([0.0, 1.0, 2.0, 5.0, 10.0, 20.0]) if rates is None else np.asarray(rates,
                                                                                      float)
    bill = price_many(params, {"failures.oom_restarts_per_instance_month": values})
    frames = []
    for name in names:
        items = [i for i in bill.options[name] if i.category == "failures"]
        lost = sum((i.quantity for i in items if "capacity lost" in i.item), np.zeros(len(values)))
        redo = sum((i.quantity for i in items if "OOM restarts: in-flight" in i.item),
                   np.zeros(len(values)))
        frames.append(pd.DataFrame({"restarts_per_instance_month": values, "option": name,
                                    "lost_hours": np.asarray(lost),
                                    "recomputed_hours": np.asarray(redo)}))
    return pd.concat(frames, ignore_index=True)


def oom_chart(frame: pd.DataFrame) -> alt.Chart | Markdown:
    """How much fleet capacity do OOM restarts take, down and redone? (A note without a
    self-hosted option.)"""
    if frame.empty:
        return Markdown("This params file has no self-hosted option: there is no fleet to "
                        "restart. params/default.yaml and params/scenario_a_bursty.yaml have "
                        "one.")
    long = frame.melt(id_vars=["restarts_per_instance_month", "option"],
                      value_vars=["lost_hours", "recomputed_hours"], var_name="what",
                      value_name="instance_hours")
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("restarts_per_instance_month:Q",
                title="OOM restarts [per instance-month]"),
        y=alt.Y("instance_hours:Q", title="capacity lost or redone [instance-hours/month]"),
        strokeDash=alt.StrokeDash("what:N", title="capacity"),
        color=alt.Color("option:N", title="option"),
        tooltip=["option", "what", alt.Tooltip("instance_hours:Q", format=",.2f")],
    ).properties(width=charts.WIDTH, height=charts.HEIGHT)


def router_with_cache(params: Params) -> str | None:
    """The first router option with a response cache, or None."""
    return next((n for n, o in params.options.items()
                 if o.kind == "router" and getattr(o, "cache", None) is not None), None)


def stampede_sweep(params: Params, deploys=None, prewarm=(0.0, 0.9)) -> pd.DataFrame:
    """The cache stampede line against deploys a month, cold and pre-warmed.

    One :func:`costlib.bill.vector.price_many` call over the grid of
    ``failures.deploys_per_month`` [1/month] x ``failures.prewarm_fraction`` [0-1] for the
    first router with a cache; columns ``deploys_per_month``, ``prewarm_fraction``,
    ``extra_misses`` [requests/month], ``stampede_usd`` [USD/month]. Empty without one.
    """
    name = router_with_cache(params)
    if name is None:
        return pd.DataFrame()
    d = np.array([0.0, 4.0, 8.0, 16.0, 30.0]) if deploys is None else np.asarray(deploys, float)
    dd, pp = np.meshgrid(d, np.asarray(prewarm, dtype=float))
    bill = price_many(params, {"failures.deploys_per_month": dd.ravel(),
                               "failures.prewarm_fraction": pp.ravel()})
    items = [i for i in bill.options[name] if i.item.startswith("cache stampede")]
    return pd.DataFrame({"deploys_per_month": dd.ravel(), "prewarm_fraction": pp.ravel(),
                         "extra_misses": np.asarray(sum(i.quantity for i in items)),
                         "stampede_usd": np.asarray(sum(i.monthly_usd for i in items))})


def stampede_chart(frame: pd.DataFrame) -> alt.Chart | Markdown:
    """What do cold caches after deploys cost, with and without pre-warming? (A note without a
    router with a cache.)"""
    if frame.empty:
        return Markdown("This params file has no router with a response cache, so no deploy "
                        "empties a cache. params/scenario_c_cached_rag.yaml has one.")
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("deploys_per_month:Q", title="deploys that empty the cache [per month]"),
        y=alt.Y("stampede_usd:Q", title="cache stampede [USD/month]"),
        color=alt.value(charts.CATEGORY_COLORS["failures"]),
        strokeDash=alt.StrokeDash("prewarm_fraction:O", title="hit traffic pre-warmed [-]"),
        tooltip=["deploys_per_month", "prewarm_fraction",
                 alt.Tooltip("extra_misses:Q", format=",.0f"),
                 alt.Tooltip("stampede_usd:Q", format=",.2f")],
    ).properties(width=charts.WIDTH, height=charts.HEIGHT)


# --------------------------------------------------------------------------------------------
# exercises


def exercise_naive_vs_budgeted(frame: pd.DataFrame) -> Markdown:
    """Exercise 1: with throttled attempts billed in full, how much more do naive retries cost
    than budgeted ones a month, and how many more attempts do they send?"""
    if frame.empty:
        return Markdown("No managed option: the exercise does not apply to this file.")
    one = list(BILLED_CASES)[1]
    g = frame[frame["case"] == one].set_index("policy")
    n, b = g.loc["naive"], g.loc["budgeted"]
    return Markdown(
        f"Naive: {n.failures_usd:,.2f} USD a month, budgeted: {b.failures_usd:,.2f}: naive "
        f"costs **{n.failures_usd - b.failures_usd:,.2f} USD a month more** and sends "
        f"{n.attempts - b.attempts:,.0f} more attempts, and serves no more requests (naive "
        f"leaves {n.unserved:,.0f} unserved, budgeted {b.unserved:,.0f}).")


def exercise_discarded(params: Params, fraction: float = 0.02) -> Markdown:
    """Exercise 3: naive retries, ``fraction`` of served attempts discarded after processing:
    the managed option's extra bill, and by hand ``fraction x served x USD per request``."""
    case = quota_case(params)
    if case.option is None:
        return Markdown(case.note)
    p = with_overrides(params, {"failures.retry_policy": "naive",
                                "failures.discarded_after_processing_fraction": fraction})
    result = estimate(p)
    item = next(li for li in _option(result, case.option).line_items
                if li.category == "failures" and "billed again" in li.item)
    reqs = result.workload["requests_per_month"]
    unserved = _item_quantity(result, case.option, "failed after retries")
    by_hand = fraction * (reqs - unserved) * item.unit_usd
    return Markdown(
        f"{fraction:.0%} x ({reqs:,.0f} requests - {unserved:,.0f} throttled) = "
        f"{item.quantity:,.0f} requests billed twice, at {item.unit_usd:.6f} USD each "
        f"(the model's input and output prices): **{item.monthly_usd:,.2f} USD a month** on "
        f"{case.option} (by hand: {by_hand:,.2f}). The file's own quota is kept.")


def exercise_spot(params: Params, interruptions: float = 0.05) -> Markdown:
    """Exercise 4: the first self-hosted option on Spot with ``interruptions`` per
    instance-month and its batch in flight: instance-hours recomputed, and by hand
    ``interruptions x instance-hours / 730 x in-flight x tokens / (tokens/s x 3600)``."""
    names = self_hosted(params)
    if not names:
        return Markdown("This params file has no self-hosted option: the exercise does not "
                        "apply (try params/default.yaml).")
    name = names[0]
    base = estimate(params)
    d = _option(base, name).details
    batch = float(d["batch_size"])
    over = {f"options.{name}.fleet.spot": {"interruptions_per_instance_month": interruptions,
                                            "in_flight_requests_per_instance": batch}}
    if params.options[name].spot_discount_pct is None and \
            params.options[name].usd_per_instance_hour is None:
        # Spot needs a price; the redone hours do not depend on it (assumption: 60 % off)
        over[f"options.{name}.spot_discount_pct"] = SPOT_DISCOUNT_PCT
    p = with_overrides(params, over)
    result = estimate(p)
    o = _option(result, name)
    li = next(li for li in o.line_items if "spot interruptions" in li.item)
    hours = next(x.quantity for x in o.line_items
                 if x.unit == "instance-hour" and x.category == "inference")
    w = result.workload
    tpr = w["in_tokens"] + w["out_tokens"]
    cap = float(o.details["tokens_per_second_per_instance"]) * float(o.details["batch_size"])
    by_hand = interruptions * hours / HOURS_PER_MONTH * batch * tpr / (cap * SECONDS_PER_HOUR)
    return Markdown(
        f"{name} on Spot: {interruptions:g} x {hours:,.0f} instance-hours / 730 = "
        f"{interruptions * hours / HOURS_PER_MONTH:,.2f} interruptions a month, each losing "
        f"{batch:,.1f} requests in flight of {tpr:,.0f} tokens. Redone at {cap:,.0f} tokens/s "
        f"per instance, that is **{li.quantity:.6f} instance-hours** a month (by hand: {by_hand:.6f}), "
        f"{li.monthly_usd:,.2f} USD for a {o.kind.replace('_', '-')} {params.options[name].fleet.policy} "
        f"fleet. Spot's real cost for real-time serving is elsewhere: the warm spares and boot "
        f"time the inference line items carry.")


__all__ = ["Lesson", "start", "POLICIES", "BILLED_CASES", "POLICY_COLORS",
           "QUOTA_SHARE_OF_PEAK", "SPOT_DISCOUNT_PCT", "failure_items", "failures_usd", "settings_table",
           "QuotaCase", "quota_case", "retry_policies", "retry_chart", "retry_answer",
           "quota_sweep", "quota_chart", "quota_needed", "discarded_sweep", "discarded_chart",
           "discarded_note", "self_hosted", "oom_sweep", "oom_chart", "router_with_cache",
           "stampede_sweep", "stampede_chart", "exercise_naive_vs_budgeted",
           "exercise_discarded", "exercise_spot"]
