"""Managed API on demand (Amazon Bedrock): pay per input and output token.

No fleet to size and nothing to pay while idle: the bill is tokens times the per-token prices of
the chosen model, less what prompt caching and batch inference save. What it does not escape is
the account quota: requests above the per-minute quota are throttled (HTTP 429).

The formulas (:func:`~costlib.formulas.tokens.input_usd_per_request`,
:func:`~costlib.formulas.tokens.throttled_fraction`) are in :mod:`costlib.formulas.tokens`; the
service tiers (Standard, Flex, Priority, batch, the Reserved tier) in
:mod:`costlib.formulas.bedrock_tiers`; the prompt cache's hit rate from its time to live in
:mod:`costlib.formulas.prompt_cache`. A tier without a sourced rate for the model is an error
naming the tiers it has, never a guessed multiplier.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pydantic import Field, model_validator

from costlib.bill.context import Context, Price
from costlib.bill.lineitems import (
    Operations,
    OptionOutcome,
    any_nonzero,
    line_item,
    num,
    operations_items,
)
from costlib.core.errors import CostlibError
from costlib.core.schema import Strict
from costlib.formulas.bedrock_tiers import (
    MINUTES_PER_MONTH,
    blended_usd_per_1m_tokens,
    cheapest_reserved_tpm,
    demand_tokens_per_minute,
    overflow_tokens_per_minute,
    tier_dimension,
)
from costlib.formulas.prompt_cache import (
    TTL_WRITE_DIMENSIONS,
    cache_token_fractions,
    request_weighted_hit_fraction,
)
from costlib.formulas.retries import allowed_rps, throttled_rps
from costlib.formulas.tokens import million_tokens


class PromptCache(Strict):
    """Bedrock prompt caching: a share of each prompt is read from (or written to) the cache.

    Give the shares of input tokens directly (``read_fraction``, ``write_fraction``), or the
    cacheable prefix (``prefix_fraction``) with its hit rate: stated (``hit_fraction``) or
    derived from the cache's time to live and how often requests share a prefix (``prefixes``,
    the distinct prefixes the traffic spreads over, or ``prefix_requests_per_minute``):
    :func:`costlib.formulas.prompt_cache.request_weighted_hit_fraction`. Hits read the prefix,
    misses write it.

    Attributes
    ----------
    read_fraction : float
        Share of input tokens read from the prompt cache [0-1], billed at the cache-read price.
    write_fraction : float
        Share of input tokens written to the cache [0-1], billed at the cache-write price.
    prefix_fraction : float, optional
        Share of each request's input tokens that is the shared, cacheable prefix [0-1].
    hit_fraction : float, optional
        Share of requests that find the prefix cached [0-1], stated.
    prefixes : float, optional
        Distinct prefixes the requests spread over evenly [-], >= 1; the hit rate follows the
        traffic step by step.
    prefix_requests_per_minute : float, optional
        Requests per minute that share one prefix [requests/min], stated.
    ttl_minutes : {5, 60}, optional
        Cache time to live [min]: 5 (default, the ``cache_write`` rate) or 60 (the
        ``cache_write_1h`` rate).
    """

    read_fraction: float = Field(0.0, ge=0, le=1)
    write_fraction: float = Field(0.0, ge=0, le=1)
    prefix_fraction: float | None = Field(None, ge=0, le=1)
    hit_fraction: float | None = Field(None, ge=0, le=1)
    prefixes: float | None = Field(None, ge=1)
    prefix_requests_per_minute: float | None = Field(None, gt=0)
    ttl_minutes: Literal[5, 60] | None = None

    @model_validator(mode="after")
    def _at_most_all_tokens(self):
        if np.any(np.asarray(self.read_fraction + self.write_fraction) > 1):
            raise ValueError("read_fraction + write_fraction cannot exceed 1 (all input tokens)")
        given = [k for k in ("hit_fraction", "prefixes", "prefix_requests_per_minute")
                 if getattr(self, k) is not None]
        stated = [k for k in ("read_fraction", "write_fraction") if k in self.model_fields_set]
        if given and stated:
            raise ValueError(f"give either {' and '.join(stated)} or prefix_fraction with "
                             f"{given[0]}, not both")
        if len(given) > 1:
            raise ValueError(f"give one of hit_fraction, prefixes, prefix_requests_per_minute, "
                             f"not {' and '.join(given)}")
        if given and self.prefix_fraction is None:
            raise ValueError(f"{given[0]} needs prefix_fraction (the share of each prompt's input "
                             "tokens that is the shared prefix, 0-1)")
        if self.prefix_fraction is not None and not given:
            raise ValueError("prefix_fraction needs a hit rate: hit_fraction, prefixes or "
                             "prefix_requests_per_minute")
        return self

    @property
    def derived(self) -> bool:
        """Whether the shares come from a prefix and its hit rate (not stated directly)."""
        return self.prefix_fraction is not None

    @property
    def write_dimension(self) -> str:
        """Price-table dimension of a cache write at this time to live."""
        return TTL_WRITE_DIMENSIONS[self.ttl_minutes or 5]

    def hit(self, traffic):
        """Share of requests that hit [0-1], per scenario (None when shares are stated)."""
        if not self.derived:
            return None
        if self.hit_fraction is not None:
            return num(self.hit_fraction)
        rps, w = traffic.steps()
        return num(request_weighted_hit_fraction(
            rps, w, prefixes=self.prefixes, ttl_minutes=float(self.ttl_minutes or 5),
            prefix_requests_per_minute=self.prefix_requests_per_minute))

    def fractions(self, traffic):
        """``(read_fraction, write_fraction)`` of input tokens [0-1] for this traffic."""
        hit = self.hit(traffic)
        if hit is None:
            return self.read_fraction, self.write_fraction
        read, write = cache_token_fractions(hit, self.prefix_fraction)
        return num(read), num(write)


class Quota(Strict):
    """The account's on-demand quota for the model (Bedrock service quotas, per minute)."""

    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)


class Reserved(Strict):
    """Bedrock Reserved tier: tokens-per-minute capacity for a term, overflowing to Standard.

    No Reserved-tier price is published (AWS quotes it through the account team): the price is
    an input. The reserved TPM covers input and output tokens together (an assumption: the
    AWS pages do not say how input and output TPM are counted against one reservation).

    Attributes
    ----------
    usd_per_1k_tpm_month : float
        Your quoted price [USD per 1,000 tokens-per-minute per month].
    tokens_per_minute : float, optional
        Capacity reserved [tokens/min]; default: the cheapest level for the traffic
        (:func:`costlib.formulas.bedrock_tiers.cheapest_reserved_tpm`).
    term_months : {1, 3, 6}
        Commitment term [months] (informational; the monthly formula does not depend on it).
    """

    usd_per_1k_tpm_month: float = Field(ge=0)
    tokens_per_minute: float | None = Field(None, ge=0)
    term_months: Literal[1, 3, 6] = 1


class ManagedApiOption(Strict):
    """Amazon Bedrock on demand.

    Attributes
    ----------
    model : str
        Bedrock model id, e.g. ``meta.llama3-1-70b-instruct-v1:0``.
    usd_per_1m_input_tokens, usd_per_1m_output_tokens : float, optional
        Your own prices [USD/1M tokens] (a negotiated rate) for the chosen ``tier``; default:
        the price table.
    tier : {"standard", "flex", "priority"}
        On-demand service tier of the interactive requests; ``flex`` and ``priority`` need the
        tier's rates in the price table (or your own prices).
    inference_profile : {"global", "geo"}, optional
        Price the model through a global cross-Region inference profile (``global.`` rows) or a
        geographic / in-Region one (the plain model id's rows); default: the id as written.
    latency_tolerant_share : float
        Share of requests that can wait [0-1], sent to ``tolerant_mode``.
    tolerant_mode : {"cheapest", "flex", "batch"}
        Where the tolerant share goes; ``cheapest``: flex or batch, whichever the tables price
        lower for this workload (flex on a tie: it answers in seconds, not hours).
    reserved : Reserved, optional
        Reserved-tier capacity for the interactive requests, overflowing to Standard.
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
    tier: Literal["standard", "flex", "priority"] = "standard"
    inference_profile: Literal["global", "geo"] | None = None
    latency_tolerant_share: float = Field(0.0, ge=0, le=1)
    tolerant_mode: Literal["cheapest", "flex", "batch"] = "cheapest"
    reserved: Reserved | None = None
    prompt_cache: PromptCache | None = None
    batch_fraction: float = Field(0.0, ge=0, le=1)
    quota: Quota | None = None
    operations: Operations = Operations()

    @model_validator(mode="after")
    def _shares_and_tiers_fit(self):
        if np.any(np.asarray(self.batch_fraction + self.latency_tolerant_share) > 1):
            raise ValueError("batch_fraction + latency_tolerant_share cannot exceed 1 (all requests)")
        if self.reserved is not None and self.tier != "standard":
            raise ValueError(f"reserved overflows to the standard tier; tier {self.tier!r} cannot "
                             "be combined with reserved (remove one)")
        if self.reserved is not None and self.prompt_cache is not None:
            raise ValueError("reserved with prompt_cache is not modelled (how cache reads count "
                             "against reserved TPM is not published); remove one")
        return self


#: Prefixes of cross-Region inference profile ids.
PROFILE_PREFIXES = ("global.", "us-gov.", "us.", "eu.", "apac.", "jp.", "au.", "ca.")


def base_model_id(model: str) -> str:
    """A Bedrock model id without its inference-profile prefix (``global.``, ``us.`` ...)."""
    for prefix in PROFILE_PREFIXES:
        if model.startswith(prefix):
            return model[len(prefix):]
    return model


def _has(ctx: Context, name: str, dimension: str) -> bool:
    has = getattr(ctx.prices, "has", None)
    if has is not None:
        return bool(has("bedrock", name, dimension))
    try:
        ctx.price("bedrock", name, dimension)
    except CostlibError:
        return False
    return True


def available_tiers(ctx: Context, model: str) -> list[str]:
    """The tiers and modes the price tables price for a model (standard, flex, priority, batch)."""
    return [t for t in ("standard", "flex", "priority", "batch")
            if _has(ctx, model, tier_dimension(t, "input"))
            and _has(ctx, model, tier_dimension(t, "output"))]


def profile_model(ctx: Context, opt: ManagedApiOption) -> tuple[str, str]:
    """The model id priced for the option's inference profile, and a note on how."""
    if opt.inference_profile is None:
        return opt.model, ""
    base = base_model_id(opt.model)
    if opt.inference_profile == "geo":
        return base, (f"geographic / in-Region profile: priced at {base}'s rows (the tables "
                      "carry geo and in-Region prices under the plain model id)")
    glob = f"global.{base}"
    if _has(ctx, glob, "input"):
        return glob, f"global cross-Region profile: priced at {glob}'s rows"
    return base, (f"global cross-Region profile: the tables have no global. price for {base}; "
                  "priced at its in-Region rate (AWS bills cross-Region inference at the source "
                  "Region's price for models without a separate global price)")


def _key(ctx: Context, name: str, key: str) -> str:
    """``options.NAME.KEY (file)``: where a pricing error points (the estimate keeps the prefix)."""
    path = getattr(ctx.params, "source_path", None)
    return f"options.{name}.{key} ({path.name if path is not None else 'params'})"


def tier_price(ctx: Context, name: str, model: str, tier: str, side: str, explicit=None,
               key: str = "tier") -> Price:
    """The rate of one tier for a model, or a one-line error naming the tiers it has."""
    if explicit is not None:
        return ctx.price("bedrock", model, tier_dimension(tier, side), explicit)
    dim = tier_dimension(tier, side)
    if tier != "standard" and not _has(ctx, model, dim):
        have = ", ".join(available_tiers(ctx, model)) or "none"
        raise CostlibError(f"{_key(ctx, name, key)}: no {tier} price for {model} in the price "
                           f"tables (it has: {have}); choose one of those or give "
                           "usd_per_1m_input_tokens and usd_per_1m_output_tokens")
    return ctx.price("bedrock", model, dim)


def tolerant_mode(ctx: Context, name: str, opt: ManagedApiOption, model: str) -> str:
    """Flex or batch for the latency-tolerant share: the one asked for, or the cheaper one."""
    have = available_tiers(ctx, model)
    if opt.tolerant_mode != "cheapest":
        if opt.tolerant_mode not in have:
            raise CostlibError(f"{_key(ctx, name, 'tolerant_mode')}: no {opt.tolerant_mode} price "
                               f"for {model} in the price tables (it has: {', '.join(have) or 'none'})")
        return opt.tolerant_mode
    w = ctx.workload
    modes = [m for m in ("flex", "batch") if m in have]
    if not modes:
        raise CostlibError(f"{_key(ctx, name, 'latency_tolerant_share')}: {model} has no flex or "
                           f"batch price in the price tables (it has: {', '.join(have) or 'none'}); "
                           "set latency_tolerant_share: 0 or choose another model")
    costs = [float(np.max(blended_usd_per_1m_tokens(
        w.in_tokens, w.out_tokens, ctx.price("bedrock", model, tier_dimension(m, "input")).usd,
        ctx.price("bedrock", model, tier_dimension(m, "output")).usd))) for m in modes]
    return modes[int(np.argmin(costs))]  # flex first: a tie goes to flex


def _check_context_window(name: str, model: str, w) -> None:
    """Raise when a request (prompt plus output cap) exceeds the model's context window.

    Only for models whose window the tables record
    (:func:`costlib.tables.genai.bedrock_context_window`); others are not checked.
    """
    from costlib.tables.genai import bedrock_context_window

    window = bedrock_context_window(model)
    if window is None:
        return
    cap = w.max_output_tokens if w.max_output_tokens is not None else w.out_tokens
    need = float(np.max(np.asarray(w.in_tokens, dtype=float) + np.asarray(cap, dtype=float)))
    if need > window:
        raise CostlibError(f"options.{name}: workload.in_tokens + output cap = {need:.6g} tokens "
                           f"exceeds the {window}-token context window of {model}; valid: at most "
                           f"{window} tokens per request")


def price_managed(name: str, opt: ManagedApiOption, ctx: Context) -> OptionOutcome:
    """Line items of a Bedrock on-demand option for one month."""
    w = ctx.workload
    reqs = ctx.requests_per_month
    in_tok_m = num(million_tokens(reqs, w.in_tokens))
    out_tok_m = num(million_tokens(reqs, w.out_tokens))
    model, profile_note = profile_model(ctx, opt)
    _check_context_window(name, model, w)
    tier = opt.tier
    p_in = tier_price(ctx, name, model, tier, "input", opt.usd_per_1m_input_tokens)
    p_out = tier_price(ctx, name, model, tier, "output", opt.usd_per_1m_output_tokens)
    items = []
    tolerant = opt.latency_tolerant_share
    on_demand = 1.0 - opt.batch_fraction - tolerant
    cache = opt.prompt_cache or PromptCache()
    read_fraction, write_fraction = cache.fractions(ctx.traffic)
    uncached = 1.0 - read_fraction - write_fraction
    label = model if tier == "standard" else f"{model} {tier}-tier"
    details = {}
    if opt.reserved is None:
        items.append(line_item("inference", f"{label} input tokens", in_tok_m * on_demand * uncached,
                               "1M tokens", p_in.usd, p_in.source))
    if (any_nonzero(read_fraction) or any_nonzero(write_fraction)) and tier != "standard":
        raise CostlibError(f"{_key(ctx, name, 'prompt_cache')}: no {tier}-tier cache prices are "
                           f"sourced for {model}; use tier standard with prompt_cache")
    if any_nonzero(read_fraction):
        p = ctx.price("bedrock", model, "cache_read")
        items.append(line_item("inference", f"{label} prompt-cache reads",
                               in_tok_m * on_demand * read_fraction, "1M tokens", p.usd,
                               p.source))
    if any_nonzero(write_fraction):
        p = ctx.price("bedrock", model, cache.write_dimension)
        items.append(line_item("inference", f"{label} prompt-cache writes",
                               in_tok_m * on_demand * write_fraction, "1M tokens", p.usd,
                               p.source))
    if opt.reserved is None:
        items.append(line_item("inference", f"{label} output tokens", out_tok_m * on_demand,
                               "1M tokens", p_out.usd, p_out.source))
    else:
        items.extend(_reserved_items(ctx, opt.reserved, label, on_demand, p_in, p_out, details))
    if any_nonzero(opt.batch_fraction):
        pbi = ctx.price("bedrock", model, "batch_input")
        pbo = ctx.price("bedrock", model, "batch_output")
        items.append(line_item("inference", f"{label} batch input tokens",
                               in_tok_m * opt.batch_fraction, "1M tokens", pbi.usd, pbi.source))
        items.append(line_item("inference", f"{label} batch output tokens",
                               out_tok_m * opt.batch_fraction, "1M tokens", pbo.usd, pbo.source))
    if any_nonzero(tolerant):
        mode = tolerant_mode(ctx, name, opt, model)
        pti = ctx.price("bedrock", model, tier_dimension(mode, "input"))
        pto = ctx.price("bedrock", model, tier_dimension(mode, "output"))
        items.append(line_item("inference", f"{model} {mode} input tokens (latency-tolerant share)",
                               in_tok_m * tolerant, "1M tokens", pti.usd, pti.source))
        items.append(line_item("inference", f"{model} {mode} output tokens (latency-tolerant share)",
                               out_tok_m * tolerant, "1M tokens", pto.usd, pto.source))
        details["tolerant_mode"] = mode
        details["latency_tolerant_share"] = tolerant
    items.extend(operations_items(opt.operations))
    out = {"throttled_fraction": 0.0}
    if opt.quota is not None:
        out["throttled_fraction"] = quota_throttled_fraction(
            ctx, opt.quota.requests_per_minute, opt.quota.tokens_per_minute)
    if tier != "standard":
        out["tier"] = tier
    if profile_note:
        out["inference_profile"] = profile_note
    if opt.prompt_cache is not None and cache.derived:
        out["cache_hit_fraction"] = cache.hit(ctx.traffic)
        out["cache_read_fraction"] = read_fraction
        out["cache_write_fraction"] = write_fraction
        if cache.hit_fraction is None:
            out["cache_hit_method"] = ("approximation: Poisson arrivals per prefix at each step's "
                                       "rate, TTL refreshed on every hit: 1 - exp(-rate * TTL)")
    out.update(details)
    return OptionOutcome(items, out)


def _reserved_items(ctx: Context, reserved: Reserved, label: str, share, p_in: Price,
                    p_out: Price, details: dict) -> list:
    """The reserved capacity (paid always) and the Standard overflow of the interactive share."""
    w = ctx.workload
    rps, wts = ctx.traffic.steps()
    share_col = np.reshape(np.asarray(share, dtype=float), (-1, 1))
    tpr_col = np.reshape(np.asarray(ctx.tokens_per_request, dtype=float), (-1, 1))
    demand = demand_tokens_per_minute(rps * share_col, tpr_col)
    minute_share = wts / wts.sum()
    blended = blended_usd_per_1m_tokens(w.in_tokens, w.out_tokens, p_in.usd, p_out.usd)
    if reserved.tokens_per_minute is not None:
        tpm = np.broadcast_to(np.reshape(np.asarray(reserved.tokens_per_minute, dtype=float), (-1,)),
                              (demand.shape[0],))
        how = "stated"
    else:
        tpm = cheapest_reserved_tpm(demand, minute_share, reserved.usd_per_1k_tpm_month, blended)
        how = "cheapest for the traffic (newsvendor: exceedance share of minutes = p_reserved / p_standard)"
    over_tokens_m = num(overflow_tokens_per_minute(demand, np.reshape(tpm, (-1, 1))) @ minute_share
                        * MINUTES_PER_MONTH / 1e6)
    in_share = np.asarray(w.in_tokens, dtype=float) / np.asarray(ctx.tokens_per_request, dtype=float)
    source = ("params file: usd_per_1k_tpm_month (no Reserved-tier price is published; AWS "
              "quotes it through the account team)")
    items = [
        line_item("inference", f"{label} reserved tier ({fmt_tpm(tpm)} TPM, "
                  f"{reserved.term_months}-month term)", num(np.asarray(tpm) / 1000.0),
                  "1K TPM-month", num(reserved.usd_per_1k_tpm_month), source, fixed=True),
        line_item("inference", f"{label} input tokens (overflow above reserved, standard tier)",
                  num(over_tokens_m * in_share), "1M tokens", p_in.usd, p_in.source),
        line_item("inference", f"{label} output tokens (overflow above reserved, standard tier)",
                  num(over_tokens_m * (1.0 - in_share)), "1M tokens", p_out.usd, p_out.source),
    ]
    details["reserved_tpm"] = num(tpm)
    details["reserved_tpm_from"] = how
    total = demand @ minute_share
    with np.errstate(invalid="ignore", divide="ignore"):
        details["reserved_utilisation"] = num(np.where(
            np.asarray(tpm) > 0, (total - over_tokens_m * 1e6 / MINUTES_PER_MONTH)
            / np.where(np.asarray(tpm) > 0, tpm, 1.0), 0.0))
    return items


def fmt_tpm(tpm) -> str:
    """A reserved TPM for a line-item label (one value, or the range of N scenarios)."""
    a = np.asarray(tpm, dtype=float).reshape(-1)
    if a.size == 1 or np.all(a == a[0]):
        return f"{a[0]:,.0f}"
    return f"{a.min():,.0f}-{a.max():,.0f}"


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


__all__ = ["PromptCache", "Quota", "Reserved", "ManagedApiOption", "price_managed",
           "available_tiers", "base_model_id", "profile_model", "tier_price", "tolerant_mode"]
