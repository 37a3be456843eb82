"""Managed API on demand (Amazon Bedrock): pay per input and output token.

No fleet to size and nothing to pay while idle: the bill is tokens times the per-token prices of
the chosen model, less what prompt caching and batch inference save. What it does not escape is
the account quota: requests above the per-minute quota are throttled (HTTP 429).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from costlib.bill.lineitems import Operations, OptionOutcome, line_item, operations_items
from costlib.core.schema import Strict
from costlib.bill.context import Context
from costlib.core.units import SECONDS_PER_MINUTE, TOKENS_PER_1M


class PromptCache(Strict):
    """Bedrock prompt caching: a share of each prompt is read from (or written to) the cache.

    Attributes
    ----------
    read_fraction : float
        Share of input tokens read from the prompt cache [0-1], billed at the cache-read price.
    write_fraction : float
        Share of input tokens written to the cache [0-1], billed at the cache-write price.
    """

    read_fraction: float = Field(0.0, ge=0, le=1)
    write_fraction: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_all_tokens(self):
        if self.read_fraction + self.write_fraction > 1:
            raise ValueError("read_fraction + write_fraction cannot exceed 1 (all input tokens)")
        return self


class Quota(Strict):
    """The account's on-demand quota for the model (Bedrock service quotas, per minute)."""

    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)


class ManagedApiOption(Strict):
    """Amazon Bedrock on demand.

    Attributes
    ----------
    model : str
        Bedrock model id, e.g. ``meta.llama3-1-70b-instruct-v1:0``.
    usd_per_1m_input_tokens, usd_per_1m_output_tokens : float, optional
        Your own prices [USD/1M tokens] (a negotiated rate); default: the price table.
    prompt_cache : PromptCache, optional
        Prompt caching; needs cache prices for the model in the price table.
    batch_fraction : float
        Share of requests sent through batch inference [0-1], at the batch prices.
    quota : Quota, optional
        Requests or tokens per minute beyond which requests are throttled.
    operations : Operations
        Engineer time per month (prompt and quota management; no GPUs to run).
    """

    kind: Literal["managed_api"]
    model: str
    usd_per_1m_input_tokens: float | None = Field(None, ge=0)
    usd_per_1m_output_tokens: float | None = Field(None, ge=0)
    prompt_cache: PromptCache | None = None
    batch_fraction: float = Field(0.0, ge=0, le=1)
    quota: Quota | None = None
    operations: Operations = Operations()


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
        Step length [s].
    tokens_per_request : float
        Tokens one request counts against a tokens-per-minute quota [tokens].
    requests_per_minute, tokens_per_minute : float, optional
        The quota; ``None`` means no limit of that kind.

    Returns
    -------
    float
        ``sum(max(0, demand - allowed)) / sum(demand)`` over the steps, where the allowed rate
        is the tighter of the two quotas converted to requests/s.

    Examples
    --------
    Two minutes at 2 and 6 rps against 240 requests/minute (4 rps): (0 + 2) / (2 + 6) = 0.25

    >>> throttled_fraction([2.0, 6.0], 60.0, 100, requests_per_minute=240)
    0.25
    """
    rps = np.asarray(rps, dtype=float)
    allowed = np.inf
    if requests_per_minute is not None:
        allowed = min(allowed, requests_per_minute / SECONDS_PER_MINUTE)
    if tokens_per_minute is not None:
        allowed = min(allowed, tokens_per_minute / SECONDS_PER_MINUTE / tokens_per_request)
    total = float(rps.sum())
    if total == 0 or not np.isfinite(allowed):
        return 0.0
    return float(np.maximum(rps - allowed, 0.0).sum() / total)


def price_managed(name: str, opt: ManagedApiOption, ctx: Context) -> OptionOutcome:
    """Line items of a Bedrock on-demand option for one month."""
    w = ctx.workload
    reqs = ctx.requests_per_month
    in_tok_m = reqs * w.in_tokens / TOKENS_PER_1M
    out_tok_m = reqs * w.out_tokens / TOKENS_PER_1M
    p_in = ctx.price("bedrock", opt.model, "input", opt.usd_per_1m_input_tokens)
    p_out = ctx.price("bedrock", opt.model, "output", opt.usd_per_1m_output_tokens)
    items = []
    on_demand = 1.0 - opt.batch_fraction
    cache = opt.prompt_cache or PromptCache()
    uncached = 1.0 - cache.read_fraction - cache.write_fraction
    label = opt.model
    items.append(line_item("inference", f"{label} input tokens", in_tok_m * on_demand * uncached,
                           "1M tokens", p_in.usd, p_in.source))
    if cache.read_fraction:
        p = ctx.price("bedrock", opt.model, "cache_read")
        items.append(line_item("inference", f"{label} prompt-cache reads",
                               in_tok_m * on_demand * cache.read_fraction, "1M tokens", p.usd,
                               p.source))
    if cache.write_fraction:
        p = ctx.price("bedrock", opt.model, "cache_write")
        items.append(line_item("inference", f"{label} prompt-cache writes",
                               in_tok_m * on_demand * cache.write_fraction, "1M tokens", p.usd,
                               p.source))
    items.append(line_item("inference", f"{label} output tokens", out_tok_m * on_demand,
                           "1M tokens", p_out.usd, p_out.source))
    if opt.batch_fraction:
        pbi = ctx.price("bedrock", opt.model, "batch_input")
        pbo = ctx.price("bedrock", opt.model, "batch_output")
        items.append(line_item("inference", f"{label} batch input tokens",
                               in_tok_m * opt.batch_fraction, "1M tokens", pbi.usd, pbi.source))
        items.append(line_item("inference", f"{label} batch output tokens",
                               out_tok_m * opt.batch_fraction, "1M tokens", pbo.usd, pbo.source))
    items.extend(operations_items(opt.operations))
    details = {"throttled_fraction": 0.0}
    if opt.quota is not None:
        details["throttled_fraction"] = throttled_fraction(
            ctx.profile.rps, ctx.profile.step_s, ctx.tokens_per_request,
            opt.quota.requests_per_minute, opt.quota.tokens_per_minute)
    return OptionOutcome(items, details)
