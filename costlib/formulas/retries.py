"""Retry and failure formulas: quota-admitted rates, throttled demand, retries, recomputation.

Pure functions of numbers (scalars or arrays); :mod:`costlib.bill.plumbing.failures` prices
their results and documents who bills a failed attempt. Rates are per second, volumes per
730-hour month (:mod:`costlib.core.units`).

References
----------
Amazon Bedrock user guide, "Quotas for the bedrock-runtime endpoint" (requests and tokens per
minute per model). AWS SDKs and Tools reference guide, "Retry behavior" (standard mode: 3
attempts by default, exponential backoff, a retry quota). Reference article: "Overzealous
retries on 429/5xx: doubled token spend. Add backoff and budgets"; "Watch out for the cache
stampede at deploy and pre-warm hot keys".
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import (
    HOURS_PER_MONTH,
    MINUTES_PER_HOUR,
    SECONDS_PER_HOUR,
    SECONDS_PER_MINUTE,
    SECONDS_PER_MONTH,
)


def _out(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def allowed_rps(tokens_per_request, requests_per_minute=None, tokens_per_minute=None):
    """Request rate a per-minute quota admits [requests/s]; ``inf`` without a quota.

    Parameters
    ----------
    tokens_per_request : float
        Tokens one request counts against a tokens-per-minute quota [tokens].
    requests_per_minute : float, optional
        Requests-per-minute quota [requests/min]; ``None``: no such limit.
    tokens_per_minute : float, optional
        Tokens-per-minute quota [tokens/min]; ``None``: no such limit.

    Returns
    -------
    float
        ``min(rpm / 60, tpm / 60 / tokens_per_request)`` [requests/s].

    References
    ----------
    Amazon Bedrock user guide, "Quotas for the bedrock-runtime endpoint" (requests and tokens
    per minute per model).

    Examples
    --------
    240 requests/min, or 600,000 tokens/min at 2,500 tokens per request (4 rps):

    >>> allowed_rps(2500, requests_per_minute=240), allowed_rps(2500, tokens_per_minute=600_000)
    (4.0, 4.0)
    """
    allowed = np.inf
    if requests_per_minute is not None:
        allowed = np.minimum(allowed, np.asarray(requests_per_minute, dtype=float)
                             / SECONDS_PER_MINUTE)
    if tokens_per_minute is not None:
        allowed = np.minimum(allowed, np.asarray(tokens_per_minute, dtype=float)
                             / SECONDS_PER_MINUTE / np.asarray(tokens_per_request, dtype=float))
    return _out(np.asarray(allowed, dtype=float))


def throttled_rps(demand_rps, allowed):
    """Demand above the admitted rate in each step [requests/s].

    Parameters
    ----------
    demand_rps : float or array_like
        Demand [requests/s].
    allowed : float
        Admitted rate [requests/s] (:func:`allowed_rps`).

    Returns
    -------
    float or numpy.ndarray
        ``max(demand - allowed, 0)`` [requests/s].

    Examples
    --------
    >>> throttled_rps([2.0, 6.0], 4.0).tolist()
    [0.0, 2.0]
    """
    return _out(np.maximum(np.asarray(demand_rps, dtype=float) - allowed, 0.0))


def naive_retry_rps(demand_rps, allowed, max_attempts):
    """Retry attempts under immediate retries, all failing in the same minute [requests/s].

    Parameters
    ----------
    demand_rps : float or array_like
        First attempts in each step [requests/s].
    allowed : float
        Admitted rate [requests/s].
    max_attempts : int
        Attempts per request including the first [-].

    Returns
    -------
    float or numpy.ndarray
        ``(max_attempts - 1) * max(demand - allowed, 0)`` [requests/s].

    Notes
    -----
    The quota of the minute is spent by the first attempts; immediate retries arrive in the
    same minute and are throttled again, so each throttled request makes every attempt and
    is still not served: attempts = ``max_attempts`` x throttled.

    Examples
    --------
    6 rps against 4 allowed, 3 attempts: 2 throttled -> 4 retries/s, all failing.

    >>> naive_retry_rps([2.0, 6.0], 4.0, 3).tolist()
    [0.0, 4.0]
    """
    return _out((max_attempts - 1) * np.asarray(throttled_rps(demand_rps, allowed)))


def budgeted_retry_rps(demand_rps, allowed, budget_fraction, max_attempts=3):
    """Retries with backoff under a retry budget [requests/s].

    Parameters
    ----------
    demand_rps : float or array_like
        First attempts in each step [requests/s].
    allowed : float
        Admitted rate [requests/s].
    budget_fraction : float
        Retries allowed as a share of requests [0-1].
    max_attempts : int
        Attempts per request including the first [-]; below 2 nothing is retried.

    Returns
    -------
    float or numpy.ndarray
        ``min(max(demand - allowed, 0), budget_fraction * demand)`` [requests/s] when
        ``max_attempts >= 2``, else 0.

    Examples
    --------
    6 rps against 4 allowed, 10 % budget: min(2, 0.6) = 0.6 retries/s.

    >>> [round(float(x), 9) for x in budgeted_retry_rps([2.0, 6.0], 4.0, 0.1)]
    [0.0, 0.6]
    """
    d = np.asarray(demand_rps, dtype=float)
    r = np.minimum(np.asarray(throttled_rps(d, allowed)), budget_fraction * d)
    return _out(r if max_attempts >= 2 else np.zeros_like(r))


def recovered_rps(retry_rps, demand_rps, allowed):
    """Retries served in the next step's spare quota (backoff of about a step) [requests/s].

    Parameters
    ----------
    retry_rps : array_like
        Retries of throttled requests in each step [requests/s].
    demand_rps : array_like
        First attempts in each step [requests/s].
    allowed : float
        Admitted rate [requests/s].

    Returns
    -------
    numpy.ndarray
        ``min(retry[t], max(allowed - demand[t + 1], 0))`` [requests/s], the window treated
        as periodic.

    Examples
    --------
    0.6 retries/s after the 6-rps minute land in the following 2-rps minute (2 spare):

    >>> recovered_rps([0.0, 0.6], [2.0, 6.0], 4.0).tolist()
    [0.0, 0.6]
    """
    retry = np.asarray(retry_rps, dtype=float)
    spare_next = np.roll(np.maximum(allowed - np.asarray(demand_rps, dtype=float), 0.0), -1)
    return _out(np.minimum(retry, spare_next))


def extra_billed_requests(retries, billed_share, discarded=0.0):
    """Request-equivalents billed again because of retries [requests].

    Parameters
    ----------
    retries : float or array_like
        Retried throttled attempts [requests].
    billed_share : float
        Share of a throttled attempt's tokens billed before it fails [0-1].
    discarded : float or array_like
        Attempts processed (billed) and discarded, then retried [requests].

    Returns
    -------
    float or numpy.ndarray
        ``retries * billed_share + discarded`` [requests].

    Examples
    --------
    >>> float(extra_billed_requests(1000.0, 0.0, 50.0)), float(extra_billed_requests(1000.0, 1.0))
    (50.0, 1000.0)
    """
    return np.multiply(retries, billed_share) + np.asarray(discarded, dtype=float)


def stampede_extra_misses(deploys_per_month, hit_fraction, avg_rps, cold_cache_minutes,
                          prewarm_fraction=0.0):
    """Extra cache misses after invalidations at deploy [requests/month].

    Parameters
    ----------
    deploys_per_month : float or array_like
        Deploys that invalidate the cache [1/month].
    hit_fraction : float or array_like
        Share of requests answered from a warm cache [0-1].
    avg_rps : float or array_like
        Average request rate [requests/s].
    cold_cache_minutes : float or array_like
        Minutes of fully cold cache equivalent after each deploy [min].
    prewarm_fraction : float or array_like
        Share of the hit traffic pre-warmed before the switch [0-1].

    Returns
    -------
    float or numpy.ndarray
        ``deploys * hit * rps * 60 * cold_minutes * (1 - prewarm)`` [requests/month].

    Examples
    --------
    8 deploys, 80 % hits, 2 rps, 30 cold minutes: 8 * 0.8 * 2 * 1800 = 23,040

    >>> float(stampede_extra_misses(8, 0.8, 2.0, 30))
    23040.0
    """
    return (np.multiply(np.multiply(deploys_per_month, hit_fraction), avg_rps)
            * SECONDS_PER_MINUTE * np.asarray(cold_cache_minutes, dtype=float)
            * (1.0 - np.asarray(prewarm_fraction, dtype=float)))


def retry_accounting(demand_rps, allowed, policy="budgeted", max_attempts=3,
                     budget_fraction=0.1, billed_share=0.0, discarded_fraction=0.0, *,
                     weights=None, next_demand_rps=None) -> dict:
    """Monthly retries, extra billed request-equivalents and unserved requests of a policy
    [requests/month].

    Parameters
    ----------
    demand_rps : array_like
        Demand per step [requests/s] (a profile's ``rps``; one value for an aggregate).
    allowed : float
        Admitted rate [requests/s].
    policy : {"budgeted", "naive", "none"}
        Retry policy (see :mod:`costlib.bill.plumbing.failures`).
    max_attempts : int
        Attempts per request including the first [-].
    budget_fraction : float
        ``budgeted``: retries as a share of requests [0-1].
    billed_share : float
        Share of a throttled attempt billed [0-1].
    discarded_fraction : float
        Share of served attempts processed, discarded and retried [0-1].

    Returns
    -------
    dict
        ``throttled``, ``retries``, ``extra_billed``, ``unserved`` [requests/month]: the mean
        rate of each over the steps times the seconds of a 730-hour month.

    Notes
    -----
    ``none``: nothing retried, every throttled request unserved. ``naive``: retries =
    (attempts - 1) x throttled + discarded, all throttled ones still unserved. ``budgeted``:
    retries = min(throttled + discarded, budget x demand), shared pro rata; retried throttled
    requests are served in the next step's spare quota (:func:`recovered_rps`) when there is
    more than one step.

    Examples
    --------
    One minute at 6 rps against 4 allowed, 3 naive attempts, throttled attempts not billed:
    2 rps throttled -> 2 * 2,628,000 = 5,256,000 throttled and unserved a month, 10,512,000
    retries, none billed.

    >>> acc = retry_accounting([6.0], 4.0, "naive", 3)
    >>> acc["throttled"], acc["retries"], acc["extra_billed"], acc["unserved"]
    (5256000.0, 10512000.0, 0.0, 5256000.0)
    """
    if weights is not None:
        return _retry_accounting_steps(demand_rps, allowed, policy, max_attempts,
                                       budget_fraction, billed_share, discarded_fraction,
                                       weights, next_demand_rps)
    # a series of steps is the one-scenario case of the distinct-steps form: every step once,
    # each followed by the next (periodic); a single value is an aggregate with no next step
    d = np.atleast_1d(np.asarray(demand_rps, dtype=float))
    acc = _retry_accounting_steps(d[None, :], allowed, policy, max_attempts, budget_fraction,
                                  billed_share, discarded_fraction, np.ones(d.size),
                                  np.roll(d, -1)[None, :] if d.size > 1 else None)
    return {k: float(v[0]) for k, v in acc.items()}


def _retry_accounting_steps(d, allowed, policy, max_attempts, budget_fraction, billed_share,
                            discarded_fraction, weights, next_d) -> dict:
    """:func:`retry_accounting` over distinct steps: ``d`` (N, K) with step counts ``weights``.

    ``next_d`` is the demand of the step after each one (for recovery in spare quota); None
    for an aggregate (one value per scenario, no next step), where nothing is recovered later.
    Every argument may be an (N, 1) column of per-scenario values.
    """
    def col(x):
        return np.reshape(np.asarray(x, dtype=float), (-1, 1)) if np.ndim(x) else x

    d = np.asarray(d, dtype=float)
    w = np.asarray(weights, dtype=float)
    allowed, budget_fraction, billed_share, discarded_fraction = (
        col(allowed), col(budget_fraction), col(billed_share), col(discarded_fraction))
    month = SECONDS_PER_MONTH
    total_w = w.sum()
    exc = np.maximum(d - allowed, 0.0)
    if not np.any(exc > 0):
        # nothing throttled: only discarded work is retried (none of it later unserved)
        disc = discarded_fraction * d
        if str(policy) == "none":
            retries = np.zeros_like(d)
        elif str(policy) == "naive":
            retries = disc
        else:
            retries = np.minimum(disc, budget_fraction * d)
        retries = np.where(np.asarray(max_attempts, dtype=float) < 2, 0.0, retries)
        zero = np.zeros(d.shape[0])
        mean = (np.broadcast_to(retries, d.shape) @ w) / total_w * month
        return {"throttled": zero, "retries": mean, "extra_billed": mean, "unserved": zero}
    served = d - exc
    disc = discarded_fraction * served
    policy = np.asarray(policy)
    attempts = np.asarray(max_attempts, dtype=float)
    naive = (attempts - 1) * exc
    want = exc + disc
    cap = budget_fraction * d
    b_retries = np.minimum(want, cap)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_thr = np.where(want > 0, exc / np.where(want > 0, want, 1.0), 0.0)
    r_thr = b_retries * share_thr
    b_extra = r_thr * billed_share + b_retries * (1.0 - share_thr)
    if next_d is None:
        recovered = r_thr
    else:
        recovered = np.minimum(r_thr, np.maximum(allowed - np.asarray(next_d, dtype=float), 0.0))
    b_unserved = exc - recovered
    p = str(policy)
    if p == "none":
        retries, extra, unserved = np.zeros_like(d), np.zeros_like(d), exc
    elif p == "naive":
        retries, extra, unserved = naive + disc, naive * billed_share + disc, exc
    else:
        retries, extra, unserved = b_retries, b_extra, b_unserved
    few = np.broadcast_to(attempts < 2, d.shape)
    retries = np.where(few, 0.0, retries)
    extra = np.where(few, 0.0, extra)
    unserved = np.where(few, exc, unserved)
    return {k: (np.broadcast_to(v, d.shape) @ w) / total_w * month for k, v in
            {"throttled": exc, "retries": retries, "extra_billed": extra,
             "unserved": np.maximum(unserved, 0.0)}.items()}


def recompute_instance_hours(requests, tokens_per_request, capacity_tokens_per_s):
    """Instance-hours a fleet spends recomputing requests [instance-hours].

    Parameters
    ----------
    requests : float or array_like
        Requests recomputed [requests].
    tokens_per_request : float
        Input plus output tokens per request [tokens].
    capacity_tokens_per_s : float
        What one instance serves at its batch [tokens/s]; 0 gives 0.

    Returns
    -------
    float or numpy.ndarray
        ``requests * tokens_per_request / (capacity * 3600)`` [instance-hours].

    Examples
    --------
    36,000 requests of 1,000 tokens on an instance serving 10,000 tokens/s:
    36e6 / 36e6 = 1 instance-hour.

    >>> recompute_instance_hours(36_000, 1_000, 10_000)
    1.0
    """
    cap = np.asarray(capacity_tokens_per_s, dtype=float)
    work = np.asarray(requests, dtype=float) * np.asarray(tokens_per_request, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(cap != 0, work / np.where(cap != 0, cap, 1.0) / SECONDS_PER_HOUR, 0.0)
    return _out(out)


def oom_restarts(restarts_per_instance_month, billed_instance_hours):
    """Out-of-memory restarts of a fleet in a month [restarts].

    Parameters
    ----------
    restarts_per_instance_month : float or array_like
        [1/(instance*month)].
    billed_instance_hours : float or array_like
        The fleet's instance-hours in the month [instance-hours].

    Returns
    -------
    float or numpy.ndarray
        ``rate * billed_instance_hours / 730`` [restarts].

    Examples
    --------
    2 restarts per instance-month on 1,460 instance-hours (2 instances all month): 4.

    >>> float(oom_restarts(2.0, 1460.0))
    4.0
    """
    return np.multiply(restarts_per_instance_month, billed_instance_hours) / HOURS_PER_MONTH


def capacity_lost_hours(restarts, minutes_down):
    """Instance-hours serving nothing after restarts [instance-hours].

    Parameters
    ----------
    restarts : float or array_like
        [restarts].
    minutes_down : float or array_like
        Minutes an instance serves nothing after each [min].

    Returns
    -------
    float or numpy.ndarray
        ``restarts * minutes_down / 60`` [instance-hours].

    Examples
    --------
    4 restarts of 15 minutes: 1 instance-hour.

    >>> float(capacity_lost_hours(4, 15))
    1.0
    """
    return np.multiply(restarts, minutes_down) / MINUTES_PER_HOUR


__all__ = ["allowed_rps", "throttled_rps", "naive_retry_rps", "budgeted_retry_rps",
           "recovered_rps", "extra_billed_requests", "stampede_extra_misses",
           "retry_accounting", "recompute_instance_hours", "oom_restarts",
           "capacity_lost_hours"]
