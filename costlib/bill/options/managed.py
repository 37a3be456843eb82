"""Managed API on demand (Amazon Bedrock): pay per input and output token.

No fleet to size and nothing to pay while idle: the bill is tokens times the per-token prices of
the chosen model, less what prompt caching and batch inference save. What it does not escape is
the account quota: requests above the per-minute quota are throttled (HTTP 429).

The formulas (:func:`~costlib.formulas.tokens.input_usd_per_request`,
:func:`~costlib.formulas.tokens.throttled_fraction`) are in :mod:`costlib.formulas.tokens`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pydantic import Field, model_validator

from costlib.bill.context import Context
from costlib.bill.lineitems import (
    Operations,
    OptionOutcome,
    any_nonzero,
    line_item,
    num,
    operations_items,
)
from costlib.core.schema import Strict
from costlib.formulas.retries import allowed_rps, throttled_rps
from costlib.formulas.tokens import million_tokens


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
        if np.any(np.asarray(self.read_fraction + self.write_fraction) > 1):
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


def price_managed(name: str, opt: ManagedApiOption, ctx: Context) -> OptionOutcome:
    """Line items of a Bedrock on-demand option for one month."""
    w = ctx.workload
    reqs = ctx.requests_per_month
    in_tok_m = num(million_tokens(reqs, w.in_tokens))
    out_tok_m = num(million_tokens(reqs, w.out_tokens))
    p_in = ctx.price("bedrock", opt.model, "input", opt.usd_per_1m_input_tokens)
    p_out = ctx.price("bedrock", opt.model, "output", opt.usd_per_1m_output_tokens)
    items = []
    on_demand = 1.0 - opt.batch_fraction
    cache = opt.prompt_cache or PromptCache()
    uncached = 1.0 - cache.read_fraction - cache.write_fraction
    label = opt.model
    items.append(line_item("inference", f"{label} input tokens", in_tok_m * on_demand * uncached,
                           "1M tokens", p_in.usd, p_in.source))
    if any_nonzero(cache.read_fraction):
        p = ctx.price("bedrock", opt.model, "cache_read")
        items.append(line_item("inference", f"{label} prompt-cache reads",
                               in_tok_m * on_demand * cache.read_fraction, "1M tokens", p.usd,
                               p.source))
    if any_nonzero(cache.write_fraction):
        p = ctx.price("bedrock", opt.model, "cache_write")
        items.append(line_item("inference", f"{label} prompt-cache writes",
                               in_tok_m * on_demand * cache.write_fraction, "1M tokens", p.usd,
                               p.source))
    items.append(line_item("inference", f"{label} output tokens", out_tok_m * on_demand,
                           "1M tokens", p_out.usd, p_out.source))
    if any_nonzero(opt.batch_fraction):
        pbi = ctx.price("bedrock", opt.model, "batch_input")
        pbo = ctx.price("bedrock", opt.model, "batch_output")
        items.append(line_item("inference", f"{label} batch input tokens",
                               in_tok_m * opt.batch_fraction, "1M tokens", pbi.usd, pbi.source))
        items.append(line_item("inference", f"{label} batch output tokens",
                               out_tok_m * opt.batch_fraction, "1M tokens", pbo.usd, pbo.source))
    items.extend(operations_items(opt.operations))
    details = {"throttled_fraction": 0.0}
    if opt.quota is not None:
        details["throttled_fraction"] = quota_throttled_fraction(
            ctx, opt.quota.requests_per_minute, opt.quota.tokens_per_minute)
    return OptionOutcome(items, details)


def quota_throttled_fraction(ctx: Context, requests_per_minute, tokens_per_minute):
    """Share of the option's requests above a per-minute quota [0-1], per scenario.

    :func:`costlib.formulas.tokens.throttled_fraction` over the distinct steps of the traffic:
    ``sum_t max(rps - allowed, 0) / sum_t rps``; 0 without demand or without a quota.
    """
    rps, w = ctx.traffic.steps()
    allowed = np.reshape(np.asarray(allowed_rps(ctx.tokens_per_request, requests_per_minute,
                                                tokens_per_minute), dtype=float), (-1, 1))
    total = rps @ w
    over = np.asarray(throttled_rps(rps, allowed), dtype=float) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where((total > 0) & np.isfinite(allowed[:, 0]), over / np.where(total > 0, total, 1.0), 0.0)
    return num(out)


__all__ = ["PromptCache", "Quota", "ManagedApiOption", "price_managed"]
