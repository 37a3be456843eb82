"""Token formulas: token volumes, per-request token cost, quota throttling, model units,
instance capacity, retrieved context.

Pure functions of numbers (scalars or arrays); the option pricers (:mod:`costlib.bill.options`)
and the plumbing use them with prices from the price book. Prices are per million tokens, as
Bedrock quotes them.

References
----------
Amazon Bedrock pricing (per 1,000,000 input and output tokens; prompt-cache reads and writes;
provisioned throughput per model unit-hour). Amazon Bedrock user guide, "Quotas for the
bedrock-runtime endpoint". Reference article (the worksheet's formula 3 and "Context bloat
from RAG that adds 2k tokens of low-signal stuff").
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import SECONDS_PER_MINUTE, TOKENS_PER_1M
from costlib.formulas.retries import allowed_rps, throttled_rps


def million_tokens(requests, tokens_per_request):
    """Token volume in millions, the unit Bedrock prices tokens in [1M tokens].

    Parameters
    ----------
    requests : float or array_like
        [requests].
    tokens_per_request : float or array_like
        [tokens/request].

    Returns
    -------
    float or numpy.ndarray
        ``requests * tokens_per_request / 1e6`` [1M tokens].

    Examples
    --------
    26,280,000 requests (10 rps for a 730-hour month) of 1,500 input tokens:
    26.28e6 * 1500 / 1e6 = 39,420 million tokens.

    >>> float(million_tokens(26_280_000, 1500))
    39420.0
    """
    return np.multiply(requests, tokens_per_request) / TOKENS_PER_1M


def usd_per_request(in_tokens, out_tokens, usd_per_1m_input, usd_per_1m_output):
    """Cost of one request billed per token [USD/request].

    Parameters
    ----------
    in_tokens, out_tokens : float or array_like
        Tokens per request [tokens].
    usd_per_1m_input, usd_per_1m_output : float or array_like
        Prices [USD/1M tokens].

    Returns
    -------
    float or numpy.ndarray
        ``(in_tokens * p_in + out_tokens * p_out) / 1e6`` [USD/request].

    Examples
    --------
    1,500 input and 300 output tokens at 0.72 USD per million each:
    (1500 * 0.72 + 300 * 0.72) / 1e6 = 0.001296

    >>> round(float(usd_per_request(1500, 300, 0.72, 0.72)), 9)
    0.001296
    """
    return (np.multiply(in_tokens, usd_per_1m_input)
            + np.multiply(out_tokens, usd_per_1m_output)) / TOKENS_PER_1M


def input_usd_per_request(in_tokens, usd_per_1m_input, usd_per_1m_cache_read=0.0,
                          usd_per_1m_cache_write=0.0, read_fraction=0.0, write_fraction=0.0):
    """Cost of one request's prompt with prompt caching [USD/request].

    Parameters
    ----------
    in_tokens : float or array_like
        Input tokens per request [tokens].
    usd_per_1m_input, usd_per_1m_cache_read, usd_per_1m_cache_write : float or array_like
        Prices of uncached input, cache reads and cache writes [USD/1M tokens].
    read_fraction, write_fraction : float or array_like
        Shares of the input tokens read from and written to the cache [0-1].

    Returns
    -------
    float or numpy.ndarray
        [USD/request].

    Notes
    -----
    ``in_tokens * ((1 - r - w) * p_in + r * p_read + w * p_write) / 1e6``, the way Bedrock
    bills cached prompts: every input token is billed once, at the price of how it was served.

    References
    ----------
    Amazon Bedrock pricing, prompt caching (cache read and cache write prices per 1M tokens).

    Examples
    --------
    Claude-style prices 3.00 in, 0.30 cache read; 2,000 tokens, 80 % read from cache:
    2000 * (0.2 * 3.00 + 0.8 * 0.30) / 1e6 = 0.00168

    >>> round(float(input_usd_per_request(2000, 3.00, 0.30, 3.75, 0.8, 0.0)), 8)
    0.00168
    """
    uncached = 1.0 - np.add(read_fraction, write_fraction)
    blended = (np.multiply(uncached, usd_per_1m_input)
               + np.multiply(read_fraction, usd_per_1m_cache_read)
               + np.multiply(write_fraction, usd_per_1m_cache_write))
    return np.multiply(in_tokens, blended) / TOKENS_PER_1M


def throttled_fraction(rps, step_s, tokens_per_request, requests_per_minute=None,
                       tokens_per_minute=None):
    """Share of requests above a per-minute quota [0-1].

    Parameters
    ----------
    rps : array_like
        Request rate in each step [requests/s].
    step_s : float
        Step length [s]; the steps are equal, so the share does not depend on it.
    tokens_per_request : float
        Tokens one request counts against a tokens-per-minute quota [tokens].
    requests_per_minute, tokens_per_minute : float, optional
        The quota; ``None`` means no limit of that kind.

    Returns
    -------
    float
        ``sum(throttled_rps(rps, allowed)) / sum(rps)`` over the steps, with ``allowed`` from
        :func:`costlib.formulas.retries.allowed_rps`; 0 without demand or without a quota.

    Examples
    --------
    Two minutes at 2 and 6 rps against 240 requests/minute (4 rps): (0 + 2) / (2 + 6) = 0.25

    >>> throttled_fraction([2.0, 6.0], 60.0, 100, requests_per_minute=240)
    0.25
    """
    rps = np.asarray(rps, dtype=float)
    allowed = allowed_rps(tokens_per_request, requests_per_minute, tokens_per_minute)
    total = float(rps.sum())
    if total == 0 or not np.isfinite(allowed):
        return 0.0
    return float(np.sum(throttled_rps(rps, allowed)) / total)


def model_units_needed(tokens_per_s, tokens_per_minute_per_model_unit):
    """Whole Bedrock provisioned-throughput model units that carry a token rate [model units].

    Parameters
    ----------
    tokens_per_s : float or array_like
        Token rate to carry, input plus output [tokens/s].
    tokens_per_minute_per_model_unit : float
        Throughput of one model unit for the model [tokens/min].

    Returns
    -------
    float or numpy.ndarray
        ``ceil(tokens_per_s * 60 / tokens_per_minute_per_model_unit)``, at least 1.

    Examples
    --------
    100,000 tokens/s is 6,000,000 tokens/min; at 2,500,000 per unit: 2.4 -> 3 units.

    >>> float(model_units_needed(100_000, 2_500_000))
    3.0
    """
    units = np.divide(np.multiply(tokens_per_s, SECONDS_PER_MINUTE),
                      tokens_per_minute_per_model_unit)
    return np.maximum(np.ceil(units - 1e-9), 1.0)


def provisioned_capacity_rps(model_units, tokens_per_minute_per_model_unit, tokens_per_request):
    """Request rate a number of model units serves [requests/s].

    Parameters
    ----------
    model_units : float or array_like
        [model units].
    tokens_per_minute_per_model_unit : float
        [tokens/min].
    tokens_per_request : float
        Input plus output tokens [tokens].

    Returns
    -------
    float or numpy.ndarray
        ``units * tpm_per_unit / 60 / tokens_per_request`` [requests/s].

    Examples
    --------
    3 units of 2,500,000 tokens/min, 2,500 tokens per request: 7.5e6 / 60 / 2500 = 50 rps.

    >>> float(provisioned_capacity_rps(3, 2_500_000, 2500))
    50.0
    """
    return (np.multiply(model_units, tokens_per_minute_per_model_unit) / SECONDS_PER_MINUTE
            / tokens_per_request)


def capacity_tokens_per_s(tokens_per_second_per_instance, batch_size):
    """What one instance serves at the batch it holds [tokens/s].

    Parameters
    ----------
    tokens_per_second_per_instance : float or array_like
        Tokens per second one sequence gets [tokens/s].
    batch_size : float or array_like
        Sequences the instance holds at once [-].

    Returns
    -------
    float or numpy.ndarray
        ``tokens_per_second_per_instance * batch_size`` [tokens/s] (the denominator of the
        reference article's worksheet formula 3).

    Examples
    --------
    >>> float(capacity_tokens_per_s(1117.6, 16))
    17881.6
    """
    return np.multiply(tokens_per_second_per_instance, batch_size, dtype=float)


def context_tokens_per_request(chunks_per_request, tokens_per_chunk, context_kept_fraction=1.0):
    """Input tokens retrieved context adds to each prompt [tokens].

    Parameters
    ----------
    chunks_per_request : float or array_like
        Chunks retrieved (top-k) [-].
    tokens_per_chunk : float or array_like
        [tokens].
    context_kept_fraction : float or array_like
        Share kept after deduplication / summarisation [0-1].

    Returns
    -------
    float or numpy.ndarray
        ``chunks * tokens_per_chunk * kept_fraction`` [tokens].

    References
    ----------
    Reference article: "Context bloat from RAG that adds 2k tokens of low-signal stuff";
    "Deduplicate and summarize snippets before stuffing the context."

    Examples
    --------
    5 chunks of 400 tokens, half kept after deduplication: 5 * 400 * 0.5 = 1000

    >>> float(context_tokens_per_request(5, 400, 0.5))
    1000.0
    """
    return np.multiply(np.multiply(chunks_per_request, tokens_per_chunk), context_kept_fraction)


__all__ = ["million_tokens", "usd_per_request", "input_usd_per_request", "throttled_fraction",
           "model_units_needed", "provisioned_capacity_rps", "capacity_tokens_per_s",
           "context_tokens_per_request"]
