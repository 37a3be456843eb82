"""Prompt-cache economics: the hit rate of a prefix cache from its time to live.

Bedrock prompt caching (Claude, Nova) stores a prompt prefix at a cache checkpoint. A request
whose prefix is in the cache reads it at the cache-read rate; a request that finds no cached copy
writes it at the cache-write rate (1.25x the input price for the default 5-minute time to live,
2x for the 1-hour one, for the Claude 4.5 models in the price tables). The time to live is
refreshed each time the cached content is used, so the cached copy lives until ``ttl`` passes
without a request that shares the prefix.

With requests sharing one prefix arriving as a Poisson process of rate ``lambda``, the gap
since the previous such request is exponential, and a request hits exactly when that gap is
shorter than the time to live: ``P(hit) = 1 - exp(-lambda * ttl)``.

Assumptions (approximations, said so in the option's output): arrivals per prefix are Poisson
at the step's rate (the rate changes slowly against the time to live); requests spread evenly
over ``prefixes`` distinct prefixes; every request carries the cacheable prefix and the prefix
is above the model's minimum cacheable length; the first write of a month is ignored.

References
----------
Anthropic, prompt caching: "The cache's default minimum lifetime (TTL) is 5 minutes. This
lifetime is refreshed each time the cached content is used"; a 1-hour TTL is an option
(https://platform.claude.com/en/docs/build-with-claude/prompt-caching).
Amazon Bedrock ``CachePointBlock``: TTL ``5m`` (default) or ``1h``
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CachePointBlock.html).
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import SECONDS_PER_MINUTE

#: Time-to-live values Bedrock accepts for a cache checkpoint [min] and the price-table
#: dimension of the cache write at each (``cache_write`` = 5-minute write, 1.25x input for the
#: Claude 4.5 models; ``cache_write_1h`` = 1-hour write, 2x input).
TTL_WRITE_DIMENSIONS = {5: "cache_write", 60: "cache_write_1h"}


def prefix_hit_fraction(requests_per_minute_per_prefix, ttl_minutes):
    """Share of requests that find their prefix in the cache [0-1].

    Parameters
    ----------
    requests_per_minute_per_prefix : float or array-like
        Arrival rate of requests sharing one prefix, ``lambda`` [requests/min].
    ttl_minutes : float or array-like
        Cache time to live, refreshed on every use [min].

    Returns
    -------
    float or numpy.ndarray
        ``1 - exp(-lambda * ttl)`` [-].

    Notes
    -----
    Poisson arrivals: the gap since the previous request with the same prefix is exponential
    with rate ``lambda``; a request hits when the gap is below ``ttl`` (the previous request
    wrote or refreshed the entry). ``ttl -> 0`` gives no hits, ``lambda -> inf`` all hits.

    References
    ----------
    Anthropic prompt-caching documentation (the lifetime is refreshed on each use); the
    exponential inter-arrival time of a Poisson process.

    Examples
    --------
    >>> round(float(prefix_hit_fraction(1.0, 5.0)), 5)
    0.99326
    """
    lam = np.asarray(requests_per_minute_per_prefix, dtype=float)
    ttl = np.asarray(ttl_minutes, dtype=float)
    return -np.expm1(-lam * ttl)


def requests_per_minute_per_prefix(rps, prefixes):
    """Arrival rate per prefix when ``rps`` spreads evenly over ``prefixes`` prefixes [requests/min].

    Parameters
    ----------
    rps : float or array-like
        Request rate of the option [requests/s].
    prefixes : float or array-like
        Distinct prefixes sharing the traffic [-], >= 1.

    Returns
    -------
    float or numpy.ndarray
        ``rps * 60 / prefixes`` [requests/min].

    Examples
    --------
    >>> float(requests_per_minute_per_prefix(2.0, 30))
    4.0
    """
    return np.asarray(rps, dtype=float) * SECONDS_PER_MINUTE / np.asarray(prefixes, dtype=float)


def request_weighted_hit_fraction(rps, weights, prefixes=None, ttl_minutes=5.0,
                                  prefix_requests_per_minute=None):
    """Hit fraction over the steps of a traffic profile, weighted by requests [0-1].

    Parameters
    ----------
    rps : numpy.ndarray
        Distinct per-step request rates, shape (N, K) [requests/s].
    weights : numpy.ndarray
        Steps having each rate, shape (K,) [steps].
    prefixes : float or array-like, optional
        Distinct prefixes sharing the traffic [-] (the per-prefix rate follows the traffic).
    ttl_minutes : float
        Cache time to live [min].
    prefix_requests_per_minute : float or array-like, optional
        The per-prefix rate stated directly [requests/min] (the same at every step).

    Returns
    -------
    numpy.ndarray
        ``sum_t rps_t h_t / sum_t rps_t`` with ``h_t`` from :func:`prefix_hit_fraction`,
        shape (N,); 0 where there are no requests.

    Examples
    --------
    >>> import numpy as np
    >>> float(request_weighted_hit_fraction(np.array([[1.0]]), np.array([1.0]),
    ...                                     prefix_requests_per_minute=1.0)[0]) > 0.99
    True
    """
    rps = np.atleast_2d(np.asarray(rps, dtype=float))
    w = np.asarray(weights, dtype=float)
    ttl = np.reshape(np.asarray(ttl_minutes, dtype=float), (-1, 1))
    if prefix_requests_per_minute is not None:
        lam = np.broadcast_to(np.reshape(np.asarray(prefix_requests_per_minute, dtype=float),
                                         (-1, 1)), rps.shape)
    else:
        lam = requests_per_minute_per_prefix(rps, np.reshape(np.asarray(prefixes, dtype=float),
                                                             (-1, 1)))
    hit = prefix_hit_fraction(lam, ttl)
    total = rps @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (rps * hit) @ w / np.where(total > 0, total, 1.0), 0.0)


def cache_token_fractions(hit_fraction, prefix_fraction):
    """Shares of input tokens read from and written to the cache [0-1].

    Parameters
    ----------
    hit_fraction : float or array-like
        Share of requests that find their prefix cached [0-1].
    prefix_fraction : float or array-like
        Share of each request's input tokens that is the shared, cacheable prefix [0-1].

    Returns
    -------
    (read_fraction, write_fraction)
        ``prefix * hit`` and ``prefix * (1 - hit)`` [-]; the rest of the input is uncached.

    Examples
    --------
    >>> [round(x, 6) for x in cache_token_fractions(0.75, 0.8)]
    [0.6, 0.2]
    """
    hit = np.asarray(hit_fraction, dtype=float)
    pre = np.asarray(prefix_fraction, dtype=float)
    read, write = pre * hit, pre * (1.0 - hit)
    if read.ndim == 0:
        return float(read), float(write)
    return read, write


__all__ = ["TTL_WRITE_DIMENSIONS", "prefix_hit_fraction", "requests_per_minute_per_prefix",
           "request_weighted_hit_fraction", "cache_token_fractions"]
