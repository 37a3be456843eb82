"""Bedrock service tiers and the Reserved tier: which rate each token pays.

On demand, Bedrock bills every token at the rate of the tier the request names: Standard,
Flex (discounted, for requests that can wait) or Priority (premium, faster). Batch inference
bills half the Standard rate for jobs that finish within hours. The Reserved tier sells
tokens-per-minute (TPM) capacity for a term at a fixed monthly price per 1,000 TPM; demand
above the reserved TPM overflows to Standard.

Per-token tier rates come from the price tables (``flex_input``, ``priority_output`` ...). No
Reserved-tier price is published: the price per 1K TPM-month is an input. The AWS pages say
"reserve 1 or 3 months" (the service-tiers guide) and "1 or 6 month commitments" (the
capacity and cost-optimisation guide); the term does not change the formula.

References
----------
Amazon Bedrock user guide, service tiers
(https://docs.aws.amazon.com/bedrock/latest/userguide/service-tiers-inference.html);
https://aws.amazon.com/bedrock/service-tiers/ ; the Reserved-tier search is the newsvendor
critical fractile (as for compute commitments): reserve up to the level whose exceedance share
of minutes equals the reserved price per token over the on-demand price per token.
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import HOURS_PER_MONTH, MINUTES_PER_HOUR, SECONDS_PER_MINUTE, TOKENS_PER_1K

#: Minutes in a 730-hour month [min].
MINUTES_PER_MONTH = HOURS_PER_MONTH * MINUTES_PER_HOUR

#: The on-demand tiers and the price-table dimension prefix of each.
TIER_PREFIX = {"standard": "", "flex": "flex_", "priority": "priority_"}


def tier_dimension(tier: str, side: str) -> str:
    """Price-table dimension of a tier's input or output rate.

    Examples
    --------
    >>> tier_dimension("flex", "input"), tier_dimension("standard", "output")
    ('flex_input', 'output')
    >>> tier_dimension("batch", "input")
    'batch_input'
    """
    prefix = "batch_" if tier == "batch" else TIER_PREFIX[tier]
    return f"{prefix}{side}"


def blended_usd_per_1m_tokens(in_tokens, out_tokens, usd_per_1m_input, usd_per_1m_output):
    """Price of a request's tokens per million of them, input and output together [USD/1M tokens].

    Parameters
    ----------
    in_tokens, out_tokens : float or array-like
        Tokens per request [tokens].
    usd_per_1m_input, usd_per_1m_output : float or array-like
        Rates [USD/1M tokens].

    Returns
    -------
    float or numpy.ndarray
        ``(in * p_in + out * p_out) / (in + out)`` [USD/1M tokens].

    Examples
    --------
    >>> blended_usd_per_1m_tokens(2000, 500, 0.72, 0.72)
    0.72
    >>> blended_usd_per_1m_tokens(3, 1, 1.0, 5.0)
    2.0
    """
    i = np.asarray(in_tokens, dtype=float)
    o = np.asarray(out_tokens, dtype=float)
    out = (i * np.asarray(usd_per_1m_input, dtype=float)
           + o * np.asarray(usd_per_1m_output, dtype=float)) / (i + o)
    return float(out) if np.ndim(out) == 0 else out


def demand_tokens_per_minute(rps, tokens_per_request):
    """Tokens per minute a request rate demands [tokens/min].

    Examples
    --------
    >>> float(demand_tokens_per_minute(40.0, 2500))
    6000000.0
    """
    return (np.asarray(rps, dtype=float) * SECONDS_PER_MINUTE
            * np.asarray(tokens_per_request, dtype=float))


def reserved_usd_per_month(reserved_tpm, usd_per_1k_tpm_month):
    """Monthly price of Reserved-tier capacity [USD/month], paid whether used or not.

    Examples
    --------
    >>> float(reserved_usd_per_month(200_000, 50.0))
    10000.0
    """
    return np.asarray(reserved_tpm, dtype=float) / TOKENS_PER_1K * np.asarray(usd_per_1k_tpm_month,
                                                                              dtype=float)


def overflow_tokens_per_minute(demand_tpm, reserved_tpm):
    """Demand above the reserved capacity, billed at Standard [tokens/min].

    Examples
    --------
    >>> overflow_tokens_per_minute([50.0, 150.0], 100.0).tolist()
    [0.0, 50.0]
    """
    return np.maximum(np.asarray(demand_tpm, dtype=float) - np.asarray(reserved_tpm, dtype=float),
                      0.0)


def reserved_mix_usd_per_month(reserved_tpm, demand_tpm, minute_share, usd_per_1k_tpm_month,
                               usd_per_1m_tokens_standard):
    """Monthly bill of reserved capacity plus its Standard overflow [USD/month].

    Parameters
    ----------
    reserved_tpm : float or array-like
        Reserved capacity [tokens/min], shape () or (N,).
    demand_tpm : numpy.ndarray
        Demand at each distinct step, shape (N, K) [tokens/min].
    minute_share : numpy.ndarray
        Share of the month's minutes at each distinct step, shape (K,) [-], summing to 1.
    usd_per_1k_tpm_month : float
        Reserved price [USD per 1,000 TPM per month].
    usd_per_1m_tokens_standard : float or array-like
        Blended Standard rate of the overflow (:func:`blended_usd_per_1m_tokens`).

    Returns
    -------
    numpy.ndarray
        ``R / 1000 * P + c * 43,800 * sum_k s_k max(D_k - R, 0) / 1e6`` [USD/month], (N,).

    Examples
    --------
    >>> import numpy as np
    >>> # 100 TPM reserved at 1 USD per 1K TPM-month; half the month at 300 TPM, Standard
    >>> # 1 USD/1M tokens: 0.1 + 1 * 0.5 * 200 * 43,800 / 1e6 = 4.48
    >>> round(float(reserved_mix_usd_per_month(100.0, np.array([[100.0, 300.0]]),
    ...                                         np.array([0.5, 0.5]), 1.0, 1.0)[0]), 4)
    4.48
    """
    d = np.atleast_2d(np.asarray(demand_tpm, dtype=float))
    s = np.asarray(minute_share, dtype=float)
    r = np.reshape(np.asarray(reserved_tpm, dtype=float), (-1, 1))
    over = overflow_tokens_per_minute(d, r) @ s  # (N,) mean overflow [tokens/min]
    c = np.asarray(usd_per_1m_tokens_standard, dtype=float)
    return reserved_usd_per_month(r[:, 0], usd_per_1k_tpm_month) + c * over * MINUTES_PER_MONTH / 1e6


def breakeven_usd_per_1k_tpm_month(usd_per_1m_tokens_standard):
    """Reserved price at which a reservation used every minute costs what Standard does.

    Parameters
    ----------
    usd_per_1m_tokens_standard : float or array-like
        Blended Standard rate [USD/1M tokens] (:func:`blended_usd_per_1m_tokens`).

    Returns
    -------
    float or numpy.ndarray
        ``rate * 43,800 / 1e6 * 1,000`` [USD per 1,000 TPM per month]: 1,000 tokens a minute
        for a 730-hour month at the Standard rate. Below it a fully used reservation is cheaper.

    Examples
    --------
    >>> round(float(breakeven_usd_per_1k_tpm_month(0.72)), 4)
    31.536
    """
    return np.asarray(usd_per_1m_tokens_standard, dtype=float) * MINUTES_PER_MONTH / 1e6 * TOKENS_PER_1K


def cheapest_reserved_tpm(demand_tpm, minute_share, usd_per_1k_tpm_month,
                          usd_per_1m_tokens_standard):
    """Reserved capacity that minimises reserved price plus Standard overflow [tokens/min].

    Parameters
    ----------
    demand_tpm : numpy.ndarray
        Demand at each distinct step, shape (N, K) or (K,) [tokens/min].
    minute_share : numpy.ndarray
        Share of the month's minutes at each step, shape (K,) [-], summing to 1.
    usd_per_1k_tpm_month : float
        Reserved price [USD per 1,000 TPM per month].
    usd_per_1m_tokens_standard : float or array-like
        Blended Standard rate of overflow tokens [USD/1M tokens], () or (N,).

    Returns
    -------
    numpy.ndarray
        Optimal reserved TPM, shape (N,): 0 or one of the demand levels.

    Notes
    -----
    ``cost(R) = R p + c sum_k s_k max(D_k - R, 0)`` with ``p = P / 1000`` per TPM-month and
    ``c`` the Standard price of a TPM-month of tokens (``rate * 43,800 / 1e6``). It is convex and
    piecewise linear with kinks at the demand levels, slope ``p - c * share(D > R)``: the optimum
    is the smallest demand level whose exceedance share of minutes is at most ``p / c`` (the
    newsvendor critical fractile), found exactly by evaluating every kink with suffix sums.

    Examples
    --------
    >>> import numpy as np
    >>> # half the month at 100 TPM, half at 300; reserved costs 40 % of Standard per token
    >>> c = 1e6 / 43_800  # USD per 1M tokens making a TPM-month of tokens cost 1 USD
    >>> float(cheapest_reserved_tpm(np.array([100.0, 300.0]), np.array([0.5, 0.5]), 400.0, c)[0])
    300.0
    """
    d = np.atleast_2d(np.asarray(demand_tpm, dtype=float))
    s = np.asarray(minute_share, dtype=float)
    order = np.argsort(d, axis=1)
    ds = np.take_along_axis(d, order, axis=1)
    ss = s[order]
    # suffix sums over the levels strictly above candidate j
    sd = np.cumsum((ss * ds)[:, ::-1], axis=1)[:, ::-1]
    sw = np.cumsum(ss[:, ::-1], axis=1)[:, ::-1]
    above_sd = np.concatenate([sd[:, 1:], np.zeros((d.shape[0], 1))], axis=1)
    above_sw = np.concatenate([sw[:, 1:], np.zeros((d.shape[0], 1))], axis=1)
    over = above_sd - ds * above_sw  # E[max(D - D_j, 0)] at each candidate D_j
    p = np.asarray(usd_per_1k_tpm_month, dtype=float) / TOKENS_PER_1K
    c = np.reshape(np.asarray(usd_per_1m_tokens_standard, dtype=float), (-1, 1)) \
        * MINUTES_PER_MONTH / 1e6
    cost = ds * p + c * over
    cost0 = c[:, 0] * (d @ s)  # nothing reserved
    j = np.argmin(cost, axis=1)
    best = cost[np.arange(d.shape[0]), j]
    return np.where(best < cost0, ds[np.arange(d.shape[0]), j], 0.0)


__all__ = ["MINUTES_PER_MONTH", "TIER_PREFIX", "tier_dimension", "blended_usd_per_1m_tokens",
           "breakeven_usd_per_1k_tpm_month",
           "demand_tokens_per_minute", "reserved_usd_per_month", "overflow_tokens_per_minute",
           "reserved_mix_usd_per_month", "cheapest_reserved_tpm"]
