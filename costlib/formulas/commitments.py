"""Buying capacity for a self-hosted fleet: commitments, Capacity Blocks, Spot with fallback.

A fleet's month is a *demand curve*: the instances billed at each level and the hours spent at
that level (``levels`` [instances], ``hours`` [h], the hours summing to 730). A commitment of
``c`` instances at ``r_c`` [USD/instance-hour] is paid every hour whether it is used or not;
the instances above ``c`` are bought by the hour at ``r_od`` (on demand, or a blend of Spot and
on demand).

Conventions
-----------
* Month = 730 h (:data:`costlib.core.units.HOURS_PER_MONTH`).
* Every function takes scalars or arrays; a curve's level axis is the last axis, so
  ``levels`` of shape (N, K) are N fleets of K levels with ``hours`` of shape (K,) or (N, K).
* A committed rate is the *effective* hourly rate of the commitment: for Partial or All Upfront
  payment, the upfront part spread over the term's hours. The cost of the money paid up front
  (a discount rate) is not modelled.
* Savings Plans apply to a dollar-per-hour commitment, not to a count of instances; modelling
  one as ``c`` instances of one type at one discounted rate is exact for a fleet of a single
  instance type and an approximation otherwise.

References
----------
.. [1] AWS, "Savings Plans FAQs", https://aws.amazon.com/savingsplans/faqs/ (undated, read
   2026-12-02): Compute Savings Plans "up to 66%" off On-Demand, EC2 Instance Savings Plans
   "up to 72%"; the commitment is billed every hour of the term whether used or not.
.. [2] AWS, "Capacity Blocks pricing and billing",
   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-pricing-billing.html
   (undated, read 2026-12-02): paid up front for the whole block; Savings Plans and Reserved
   Instance discounts do not apply.
.. [3] AWS, "Find and purchase Capacity Blocks",
   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-purchase.html (undated):
   durations in 1-day increments up to 14 days, then 7-day increments up to 182 days.
.. [4] The newsvendor problem: the cheapest committed level is the one whose exceedance share
   of hours equals the cost ratio r_c / r_od (e.g. Porteus, "Foundations of Stochastic
   Inventory Theory", Stanford University Press, 2002, ch. 1).
"""

from __future__ import annotations

import numpy as np

from costlib.core.errors import CostlibError
from costlib.core.units import HOURS_PER_MONTH

MAX_DISCOUNT_PCT = {
    "compute_savings_plan": 66.0,
    "ec2_instance_savings_plan": 72.0,
    "reserved_instance": 72.0,
}
"""Largest discount off On-Demand AWS advertises per commitment kind [%]. Savings Plans: the
Savings Plans FAQ [1]_ (undated, read 2026-12-02). Reserved Instances: "up to 72%", AWS, Amazon
EC2 Reserved Instances, https://aws.amazon.com/ec2/pricing/reserved-instances/ (undated). These
are maxima over all instance types, terms and payment options, not the rate of a GPU instance:
no per-instance GPU Savings Plan or RI rate could be sourced."""

CAPACITY_BLOCK_MAX_DAYS = 182
"""Longest Capacity Block [days] ([3]_)."""


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def _curve(levels, hours):
    lv = np.asarray(levels, dtype=float)
    hr = np.broadcast_to(np.asarray(hours, dtype=float), lv.shape)
    return lv, hr


def committed_usd_per_hour(usd_per_on_demand_hour, discount_pct):
    """A committed rate from a stated discount off On-Demand [USD/instance-hour].

    Parameters
    ----------
    usd_per_on_demand_hour : float or array_like
        On-Demand rate [USD/instance-hour].
    discount_pct : float or array_like
        Stated discount [%], 0 to 100.

    Returns
    -------
    float or numpy.ndarray
        ``r_od * (1 - discount_pct / 100)`` [USD/instance-hour].

    Examples
    --------
    >>> committed_usd_per_hour(55.04, 40.0)
    33.024
    """
    r = np.asarray(usd_per_on_demand_hour, dtype=float) * (
        1.0 - np.asarray(discount_pct, dtype=float) / 100.0)
    return _out(r)


def break_even_utilisation(usd_per_committed_hour, usd_per_on_demand_hour):
    """Share of hours a committed instance must be busy to pay for itself [-].

    Parameters
    ----------
    usd_per_committed_hour : float or array_like
        Committed rate, paid every hour [USD/instance-hour].
    usd_per_on_demand_hour : float or array_like
        Rate of the hours it replaces, paid only when used [USD/instance-hour].

    Returns
    -------
    float or numpy.ndarray
        ``r_c / r_od`` [-]: a committed instance busy ``u`` of the hours costs ``r_c`` per hour
        against ``u * r_od`` bought by the hour, equal at ``u = r_c / r_od``.

    Examples
    --------
    40 % off: the commitment pays off for an instance busy more than 60 % of the month.

    >>> round(break_even_utilisation(6.0, 10.0), 12)
    0.6
    """
    rc = np.asarray(usd_per_committed_hour, dtype=float)
    rod = np.asarray(usd_per_on_demand_hour, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _out(np.where(rod > 0, rc / np.where(rod > 0, rod, 1.0), np.inf))


def overflow_instance_hours(levels, hours, committed):
    """Instance-hours above a committed count over a month [instance-h].

    Parameters
    ----------
    levels : array_like
        Billed instances at each level of the curve, last axis K [instances].
    hours : array_like
        Hours at each level [h], broadcastable to ``levels``.
    committed : float or array_like
        Committed instances, shape of ``levels`` without its last axis [instances].

    Returns
    -------
    float or numpy.ndarray
        ``sum_k hours_k * max(levels_k - c, 0)`` [instance-h].

    Examples
    --------
    >>> overflow_instance_hours([2, 5], [530, 200], 3)
    400.0
    """
    lv, hr = _curve(levels, hours)
    c = np.asarray(committed, dtype=float)[..., None]
    return _out(np.sum(hr * np.maximum(lv - c, 0.0), axis=-1))


def used_committed_instance_hours(levels, hours, committed):
    """Committed instance-hours actually used, ``sum_k hours_k * min(levels_k, c)`` [instance-h].

    Examples
    --------
    >>> used_committed_instance_hours([2, 5], [530, 200], 3)
    1660.0
    """
    lv, hr = _curve(levels, hours)
    c = np.asarray(committed, dtype=float)[..., None]
    return _out(np.sum(hr * np.minimum(lv, c), axis=-1))


def commitment_cost_usd(levels, hours, committed, usd_per_committed_hour,
                        usd_per_on_demand_hour):
    """Monthly cost of a fleet with ``c`` committed instances and the rest by the hour [USD].

    Parameters
    ----------
    levels, hours : array_like
        The demand curve (see :func:`overflow_instance_hours`) [instances], [h].
    committed : float or array_like
        Committed instances ``c`` [instances].
    usd_per_committed_hour : float or array_like
        Committed rate ``r_c``, paid for all 730 h [USD/instance-hour].
    usd_per_on_demand_hour : float or array_like
        Rate ``r_od`` of the instance-hours above ``c`` [USD/instance-hour].

    Returns
    -------
    float or numpy.ndarray
        ``c * 730 * r_c + r_od * sum_k hours_k * max(levels_k - c, 0)`` [USD/month].

    Examples
    --------
    2 instances for 530 h and 5 for 200 h; 3 committed at 6 $/h, the rest at 10 $/h:
    3 * 730 * 6 = 13,140 plus 200 h * 2 * 10 = 4,000.

    >>> commitment_cost_usd([2, 5], [530, 200], 3, 6.0, 10.0)
    17140.0
    """
    c = np.asarray(committed, dtype=float)
    fixed = c * HOURS_PER_MONTH * np.asarray(usd_per_committed_hour, dtype=float)
    over = np.asarray(usd_per_on_demand_hour, dtype=float) * np.asarray(
        overflow_instance_hours(levels, hours, c))
    return _out(fixed + over)


def cheapest_commitment(levels, hours, usd_per_committed_hour, usd_per_on_demand_hour):
    """The committed count with the lowest monthly cost, and that cost (exact).

    Parameters
    ----------
    levels : array_like
        Billed instances at each level, last axis K [instances]; shape (K,) or (N, K).
    hours : array_like
        Hours at each level [h], broadcastable to ``levels``.
    usd_per_committed_hour, usd_per_on_demand_hour : float or array_like
        ``r_c`` and ``r_od`` [USD/instance-hour], scalars or shape (N,).

    Returns
    -------
    (committed, usd)
        The cheapest ``c`` [instances] and :func:`commitment_cost_usd` at it [USD/month];
        floats for one curve, arrays of shape (N,) for N. Ties go to the smaller ``c``.

    Notes
    -----
    The cost is piecewise linear and convex in ``c``, with slope
    ``730 * r_c - r_od * H(c)`` where ``H(c)`` is the hours with demand above ``c``; its kinks
    are at the curve's levels, so the minimum over every real ``c >= 0`` is at 0 or at one of
    them. Every one is evaluated (sorted once, prefix sums: O(K log K) per curve); the minimum
    is where the exceedance share ``H(c) / 730`` falls to ``r_c / r_od`` [4]_. Integer levels
    give an integer ``c``.

    Examples
    --------
    The 2-level curve of :func:`commitment_cost_usd`: above 2 instances for 200 of 730 h, a
    share 0.27 below the break-even 0.6, so commit the base of 2:
    2 * 730 * 6 + 200 * 3 * 10 = 8,760 + 6,000.

    >>> cheapest_commitment([2, 5], [530, 200], 6.0, 10.0)
    (2.0, 14760.0)
    """
    lv, hr = _curve(levels, hours)
    if lv.shape[-1] == 0:
        raise CostlibError("cheapest_commitment: the demand curve has no levels")
    if np.any(~np.isfinite(lv)) or np.any(lv < 0) or np.any(hr < 0):
        raise CostlibError("cheapest_commitment: levels must be finite and >= 0 and hours >= 0")
    order = np.argsort(lv, axis=-1, kind="stable")
    sl = np.take_along_axis(lv, order, axis=-1)
    sh = np.take_along_axis(hr, order, axis=-1)
    # candidates: 0 and every level; above[j] = sums over the levels after candidate j
    cand = np.concatenate([np.zeros(sl.shape[:-1] + (1,)), sl], axis=-1)
    zeros = np.zeros(sl.shape[:-1] + (1,))
    suffix_h = np.concatenate([np.cumsum(sh[..., ::-1], axis=-1)[..., ::-1], zeros], axis=-1)
    suffix_hn = np.concatenate([np.cumsum((sh * sl)[..., ::-1], axis=-1)[..., ::-1], zeros],
                               axis=-1)
    # candidate 0 sees every level, candidate level j those after it (ties add 0): suffix[j]
    above_h, above_hn = suffix_h, suffix_hn
    rc = np.asarray(usd_per_committed_hour, dtype=float)[..., None]
    rod = np.asarray(usd_per_on_demand_hour, dtype=float)[..., None]
    cost = cand * HOURS_PER_MONTH * rc + rod * np.maximum(above_hn - cand * above_h, 0.0)
    # the smallest c among the cheapest (to a relative 1e-12)
    best = np.min(cost, axis=-1, keepdims=True)
    tol = 1e-12 * np.maximum(np.abs(best), 1.0)
    c_best = np.min(np.where(cost <= best + tol, cand, np.inf), axis=-1)
    return _out(c_best), _out(best[..., 0])


def spot_fallback_usd_per_hour(usd_per_on_demand_hour, spot_discount_pct, fallback_share):
    """Blended rate of instance-hours asked of Spot, with on-demand fallback [USD/instance-hour].

    Parameters
    ----------
    usd_per_on_demand_hour : float or array_like
        On-Demand rate [USD/instance-hour].
    spot_discount_pct : float or array_like
        Spot price below On-Demand [%], a stated assumption (Spot prices float).
    fallback_share : float or array_like
        Share of the instance-hours asked of Spot that run on demand instead, while Spot
        capacity is unavailable or being replaced [-], 0 to 1.

    Returns
    -------
    float or numpy.ndarray
        ``r_od * ((1 - f) * (1 - d / 100) + f)`` [USD/instance-hour]: f = 0 is pure Spot,
        f = 1 pure On-Demand.

    Examples
    --------
    55 % off, a tenth of the hours on demand: 0.9 * 0.45 + 0.1 = 0.505 of On-Demand.

    >>> round(spot_fallback_usd_per_hour(100.0, 55.0, 0.1), 9)
    50.5
    """
    f = np.asarray(fallback_share, dtype=float)
    d = np.asarray(spot_discount_pct, dtype=float) / 100.0
    return _out(np.asarray(usd_per_on_demand_hour, dtype=float) * ((1.0 - f) * (1.0 - d) + f))


def capacity_block_hours_share(days):
    """Share of a 730-hour month a Capacity Block of ``days`` covers [-], at most 1.

    A block longer than a month, or blocks bought back to back, cover the whole month; a
    shorter one covers ``days * 24 / 730`` of it.

    Examples
    --------
    >>> round(capacity_block_hours_share(14), 6)
    0.460274
    >>> capacity_block_hours_share(35)
    1.0
    """
    return _out(np.minimum(np.asarray(days, dtype=float) * 24.0 / HOURS_PER_MONTH, 1.0))


def check_capacity_block_days(days, where: str = "capacity_block.days") -> int:
    """A Capacity Block duration AWS sells: 1-14 days, or 7-day steps up to 182 [days] ([3]_).

    Raises
    ------
    CostlibError
        Otherwise, naming ``where`` and the valid durations.
    """
    ok = float(days) == int(days) and (1 <= int(days) <= 14 or (
        int(days) % 7 == 0 and 14 < int(days) <= CAPACITY_BLOCK_MAX_DAYS))
    if not ok:
        raise CostlibError(f"{where}: {days!r} days is not a Capacity Block duration; AWS sells "
                           f"1 to 14 days, then 21, 28, ... up to {CAPACITY_BLOCK_MAX_DAYS} "
                           f"(7-day steps)")
    return int(days)


def capacity_block_cost_usd(levels, hours, instances, days, usd_per_block_hour,
                            usd_per_on_demand_hour):
    """Monthly cost of a fleet with a Capacity Block of ``instances`` and the rest on demand [USD].

    Parameters
    ----------
    levels, hours : array_like
        The demand curve [instances], [h].
    instances : float or array_like
        Instances in the block [instances].
    days : float or array_like
        Block duration [days]; its share of the month is :func:`capacity_block_hours_share`.
    usd_per_block_hour : float or array_like
        Capacity Block effective rate [USD/instance-hour], paid up front for every hour of
        the block, used or not ([2]_).
    usd_per_on_demand_hour : float or array_like
        Rate of the instance-hours the block does not carry [USD/instance-hour].

    Returns
    -------
    float or numpy.ndarray
        ``N * s * 730 * r_cb + r_od * (s * over(N) + (1 - s) * over(0))`` [USD/month] with
        ``s`` the block's share of the month and ``over`` :func:`overflow_instance_hours`.

    Notes
    -----
    An approximation: the block is assumed to fall on hours with the month's average demand
    curve (its timing within the month is not modelled), blocks longer than a month or chained
    back to back cover it all, and the risk that no block is on offer is not priced.

    Examples
    --------
    The curve of :func:`commitment_cost_usd`, 3 instances for the whole month at 6 $/h equals
    that commitment:

    >>> capacity_block_cost_usd([2, 5], [530, 200], 3, 35, 6.0, 10.0)
    17140.0
    """
    s = np.asarray(capacity_block_hours_share(days), dtype=float)
    n = np.asarray(instances, dtype=float)
    rod = np.asarray(usd_per_on_demand_hour, dtype=float)
    block = n * s * HOURS_PER_MONTH * np.asarray(usd_per_block_hour, dtype=float)
    over = s * np.asarray(overflow_instance_hours(levels, hours, n)) + (1.0 - s) * np.asarray(
        overflow_instance_hours(levels, hours, np.zeros_like(n)))
    return _out(block + rod * over)


__all__ = ["MAX_DISCOUNT_PCT", "CAPACITY_BLOCK_MAX_DAYS", "committed_usd_per_hour",
           "break_even_utilisation", "overflow_instance_hours", "used_committed_instance_hours",
           "commitment_cost_usd", "cheapest_commitment", "spot_fallback_usd_per_hour",
           "capacity_block_hours_share", "check_capacity_block_days", "capacity_block_cost_usd"]
