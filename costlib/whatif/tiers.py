"""Bedrock tiers and modes side by side: what one managed option costs under each, and the cheapest.

For every ``managed_api`` option of a params file (or one, by name), :func:`tier_mix` prices the
same traffic as:

============================ ==========================================================
mix                          what it is
============================ ==========================================================
``standard``                 every request on the Standard tier
``standard@global``          the same through the global cross-Region inference profile
                             (where the tables price it: Claude 4.5 global rows are 10 %
                             below the geo / in-Region ones)
``priority``                 every request on the Priority tier (premium rate)
``standard+flex``            the latency-tolerant share on Flex, the rest on Standard
``standard+batch``           the latency-tolerant share through batch inference
``reserved+<mode>``          Reserved-tier TPM at the cheapest level for the traffic (at a
                             price you state: none is published), overflow on Standard,
                             the tolerant share on the cheaper of flex and batch
``provisioned``              provisioned throughput (model units at a price and a
                             throughput you state), spill to on demand
============================ ==========================================================

A mix the price tables cannot price (no Flex or Priority rate for the model, no Reserved or
model-unit price stated) is listed with the reason, never priced with a guessed multiplier.
Each mix is the option's whole monthly bill (:func:`costlib.bill.estimate.estimate`: tokens,
the plumbing of the request path, engineer time), so the totals compare directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from costlib.bill.estimate import estimate
from costlib.bill.params import Params, with_overrides
from costlib.core.errors import CostlibError
from costlib.core.names import unknown_name_message
from costlib.formulas.bedrock_tiers import blended_usd_per_1m_tokens, breakeven_usd_per_1k_tpm_month

__all__ = ["MixResult", "TierMix", "tier_mix"]

_TIER_KEYS = ("tier", "latency_tolerant_share", "tolerant_mode", "reserved", "batch_fraction")


@dataclass(frozen=True)
class MixResult:
    """One tier mix of one option: its monthly bill, or why it could not be priced."""

    mix: str
    description: str
    monthly_usd: float | None = None
    inference_usd: float | None = None
    details: dict = field(default_factory=dict)
    reason: str = ""

    @property
    def priced(self) -> bool:
        return self.monthly_usd is not None

    def to_dict(self) -> dict:
        return {"mix": self.mix, "description": self.description, "priced": self.priced,
                "monthly_usd": self.monthly_usd, "inference_usd": self.inference_usd,
                "details": self.details, "reason": self.reason}


@dataclass(frozen=True)
class TierMix:
    """The mixes of every managed option compared, with the cheapest of each."""

    title: str
    tolerant_share: float | None
    options: dict[str, list[MixResult]]
    models: dict[str, str]

    def cheapest(self, option: str) -> MixResult | None:
        priced = [m for m in self.options[option] if m.priced]
        return min(priced, key=lambda m: m.monthly_usd) if priced else None

    def to_dict(self) -> dict:
        out = {}
        for name, mixes in self.options.items():
            best = self.cheapest(name)
            out[name] = {"model": self.models[name], "mixes": [m.to_dict() for m in mixes],
                         "cheapest": best.mix if best else None}
        return {"title": self.title, "tolerant_share": self.tolerant_share, "options": out,
                "notes": NOTES}


NOTES = [
    "No Reserved-tier price and no provisioned-throughput model-unit rate for current models is "
    "published; those mixes are priced only at a price you state.",
    "Flex and Priority rates are priced only where the price tables have them (a sourced row); "
    "a model without them lists the tiers it has.",
    "The tolerant share is an input: the share of requests that can wait seconds (flex) or hours "
    "(batch).",
]


def _base(opt) -> dict:
    """The option's settings without its tier choices (the mixes set those)."""
    data = opt.model_dump(mode="python", exclude_unset=True)
    for key in _TIER_KEYS:
        data.pop(key, None)
    return data


def _price(params: Params, name: str, data: dict) -> tuple[float, float, dict]:
    """Monthly total, its inference part and the details of one variant of an option."""
    p = with_overrides(params, {"options": {name: data}})
    result = estimate(p).option(name)
    inference = sum(li.monthly_usd for li in result.line_items if li.category == "inference")
    return result.monthly_usd, float(inference), result.details


def _mix(params, name, mix, description, data) -> MixResult:
    try:
        total, inference, details = _price(params, name, data)
    except CostlibError as exc:
        return MixResult(mix, description, reason=exc.message)
    keep = {k: v for k, v in details.items()
            if k in ("tier", "tolerant_mode", "reserved_tpm", "reserved_utilisation",
                     "inference_profile", "spilled_fraction", "model_units")}
    return MixResult(mix, description, total, inference, keep)


def _breakeven(params: Params, name: str, data: dict) -> float | None:
    """The Reserved price below which a fully used reservation beats Standard, or None.

    From the Standard rates the option's own estimate uses (its ``input tokens`` and
    ``output tokens`` line items).
    """
    try:
        p = with_overrides(params, {"options": {name: data}})
        items = estimate(p).option(name).line_items
    except CostlibError:
        return None
    rate = {}
    for li in items:
        for side in ("input", "output"):
            if li.category == "inference" and li.item.endswith(f" {side} tokens"):
                rate.setdefault(side, li.unit_usd)
    if len(rate) < 2:
        return None
    w = params.workload
    blended = blended_usd_per_1m_tokens(w.in_tokens, w.out_tokens, rate["input"], rate["output"])
    return float(np.max(breakeven_usd_per_1k_tpm_month(blended)))


def tier_mix(params: Params, option: str | None = None, tolerant_share: float | None = None,
             usd_per_1k_tpm_month: float | None = None, provisioned: dict | None = None) -> TierMix:
    """Every managed option's monthly bill under each Bedrock tier and mode, and the cheapest.

    Parameters
    ----------
    params : Params
        Validated params.
    option : str, optional
        One managed option by name; default every ``managed_api`` option.
    tolerant_share : float, optional
        Share of requests that can wait [0-1]; default each option's
        ``latency_tolerant_share`` (the tolerant mixes are skipped when it is 0).
    usd_per_1k_tpm_month : float, optional
        Reserved-tier price [USD per 1,000 TPM per month] (none is published); default: the
        option's ``reserved.usd_per_1k_tpm_month`` if it has one, else the mix is skipped.
    provisioned : dict, optional
        ``{"usd_per_model_unit_hour": .., "tokens_per_minute_per_model_unit": .., "term": ..}``
        for a provisioned-throughput mix (no model-unit rate for current models is published).

    Returns
    -------
    TierMix
    """
    if tolerant_share is not None and not 0.0 <= float(tolerant_share) <= 1.0:
        raise CostlibError(f"tiers: tolerant share must be between 0 and 1, got {tolerant_share}")
    managed = {n: o for n, o in params.options.items() if o.kind == "managed_api"}
    if option is not None:
        if option not in params.options:
            raise CostlibError(unknown_name_message("option", option, params.options))
        if option not in managed:
            raise CostlibError(f"tiers: option {option} is {params.options[option].kind}, not "
                               f"managed_api; managed options: {', '.join(managed) or 'none'}")
        managed = {option: managed[option]}
    if not managed:
        raise CostlibError("tiers: the params file has no managed_api option")
    out, models = {}, {}
    for name, opt in managed.items():
        base = _base(opt)
        share = float(opt.latency_tolerant_share) if tolerant_share is None else float(tolerant_share)
        models[name] = opt.model
        mixes = [_mix(params, name, "standard", "every request on the Standard tier", base)]
        if "usd_per_1m_input_tokens" in base or "usd_per_1m_output_tokens" in base:
            mixes.append(MixResult("priority", "every request on the Priority tier",
                                   reason="the option states its own per-token prices, for one "
                                          "tier only; priority not priced"))
        else:
            mixes.append(_mix(params, name, "priority", "every request on the Priority tier",
                              {**base, "tier": "priority"}))
        if base.get("inference_profile") != "global":
            res = _mix(params, name, "standard@global", "every request on the Standard tier "
                       "through the global cross-Region inference profile",
                       {**base, "inference_profile": "global"})
            if res.priced and "no global. price" in str(res.details.get("inference_profile", "")):
                res = MixResult(res.mix, res.description, reason=f"the price tables have no "
                                f"global-profile price for {opt.model}")
            mixes.append(res)
        pct = f"{share:.0%}"
        for mode in ("flex", "batch"):
            desc = f"{pct} of requests (latency-tolerant) on {mode}, the rest on Standard"
            if share <= 0:
                mixes.append(MixResult(f"standard+{mode}", desc, reason="no latency-tolerant share "
                                       "(give a tolerant share)"))
            else:
                mixes.append(_mix(params, name, f"standard+{mode}", desc,
                                  {**base, "latency_tolerant_share": share, "tolerant_mode": mode}))
        price = usd_per_1k_tpm_month
        if price is None and opt.reserved is not None:
            price = opt.reserved.usd_per_1k_tpm_month
        desc = "Reserved-tier TPM at the cheapest level, overflow on Standard"
        if price is None:
            be = _breakeven(params, name, base)
            hint = (f"; a reservation used every minute beats Standard below {be:,.2f} USD per 1K "
                    "TPM-month" if be is not None else "")
            mixes.append(MixResult("reserved", desc, reason="no Reserved-tier price is published; "
                                   f"state one (usd_per_1k_tpm_month) to price this mix{hint}",
                                   details={"breakeven_usd_per_1k_tpm_month": be} if be else {}))
        elif base.get("prompt_cache") is not None:
            mixes.append(MixResult("reserved", desc, reason="reserved with prompt caching is not "
                                   "modelled"))
        else:
            data = {**base, "reserved": {"usd_per_1k_tpm_month": price}}
            mix_name = "reserved"
            if share > 0:
                res = _mix(params, name, "reserved", desc, {**data, "latency_tolerant_share": share})
                if res.priced:
                    mode = res.details.get("tolerant_mode", "")
                    mixes.append(MixResult(f"reserved+{mode}", f"{desc}, {pct} on {mode}",
                                           res.monthly_usd, res.inference_usd, res.details))
                    mix_name = None
            if mix_name:
                mixes.append(_mix(params, name, "reserved", desc, data))
        desc = "provisioned throughput (model units), spill to on demand"
        if not provisioned:
            mixes.append(MixResult("provisioned", desc, reason="no model-unit rate for current "
                                   "models is published; state usd_per_model_unit_hour and "
                                   "tokens_per_minute_per_model_unit to price this mix"))
        else:
            data = {"kind": "provisioned", "model": opt.model, **provisioned}
            mixes.append(_mix(params, name, "provisioned", desc, data))
        out[name] = mixes
    return TierMix(params.title or "", tolerant_share, out, models)
