"""``costlib tiers PARAMS [--option NAME] [--tolerant-share X] [--usd-per-1k-tpm-month P]
[--pt-usd-per-mu-hour P --pt-tpm-per-mu T] [--set k=v ...] [--json]``: every managed option's
monthly bill under each Bedrock tier and mode (Standard, Priority, Flex or batch for the
latency-tolerant share, the Reserved tier, provisioned throughput) and the cheapest mix
(:func:`costlib.whatif.tiers.tier_mix`).

A mix that cannot be priced is listed with the reason: no Flex or Priority rate in the price
tables for the model, or no Reserved-tier or model-unit price stated (none is published).
"""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout



def register(subparsers) -> None:
    """Add ``costlib tiers``."""
    p = subparsers.add_parser(
        "tiers", help="each managed option under every Bedrock tier and mode, and the cheapest mix")
    p.add_argument("params", help="a YAML params file, e.g. params/scenario_b_steady.yaml")
    p.add_argument("--option", help="only this managed option (default: every managed_api option)")
    p.add_argument("--tolerant-share", type=float, metavar="X",
                   help="share of requests that can wait, 0-1 (default: each option's "
                        "latency_tolerant_share)")
    p.add_argument("--usd-per-1k-tpm-month", type=float, metavar="P",
                   help="Reserved-tier price, USD per 1,000 tokens-per-minute per month "
                        "(none is published: state your quote)")
    p.add_argument("--pt-usd-per-mu-hour", type=float, metavar="P",
                   help="provisioned throughput: your quoted USD per model-unit hour")
    p.add_argument("--pt-tpm-per-mu", type=float, metavar="T",
                   help="provisioned throughput: tokens per minute of one model unit")
    p.add_argument("--pt-term", choices=("no_commit", "1_month", "6_month"), default="1_month",
                   help="provisioned throughput commitment (default 1_month)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--set", action="append", metavar="dotted.key=value",
                   help="override any key of the file first (repeatable)")
    p.set_defaults(func=_cmd_tiers)


def format_tiers(result) -> str:
    """One table per option: each mix's monthly total and inference part, or why not priced."""
    lines = [result.title, ""] if result.title else []
    for name, mixes in result.options.items():
        best = result.cheapest(name)
        lines.append(f"{name} ({result.models[name]})")
        width = max(len(m.mix) for m in mixes)
        for m in mixes:
            if m.priced:
                mark = "  <- cheapest" if best is not None and m.mix == best.mix else ""
                extra = ""
                if "reserved_tpm" in m.details:
                    extra = f"; reserved {float(m.details['reserved_tpm']):,.0f} TPM"
                lines.append(f"  {m.mix.ljust(width)}  {m.monthly_usd:>14,.0f} USD/month  "
                             f"(inference {m.inference_usd:,.0f}{extra}){mark}")
            else:
                lines.append(f"  {m.mix.ljust(width)}  {'not priced':>14}            {m.reason}")
        lines.append("")
    from costlib.whatif.tiers import NOTES

    lines += NOTES
    return "\n".join(lines)


def _cmd_tiers(args) -> int:
    from costlib.bill.params import load_params, parse_set_overrides
    from costlib.core.errors import CostlibError
    from costlib.whatif.tiers import tier_mix

    provisioned = None
    if (args.pt_usd_per_mu_hour is None) != (args.pt_tpm_per_mu is None):
        raise CostlibError("tiers: give both --pt-usd-per-mu-hour and --pt-tpm-per-mu (or neither)")
    if args.pt_usd_per_mu_hour is not None:
        provisioned = {"usd_per_model_unit_hour": args.pt_usd_per_mu_hour,
                       "tokens_per_minute_per_model_unit": args.pt_tpm_per_mu,
                       "term": args.pt_term}
    params = load_params(args.params, parse_set_overrides(args.set))
    from costlib.bill.estimate import estimate

    estimate(params)  # a file with any option that cannot be priced is refused, as by estimate
    result = tier_mix(params, args.option, args.tolerant_share, args.usd_per_1k_tpm_month,
                      provisioned)
    if args.json:
        print(_jsonout.dumps(result.to_dict(), indent=2, default=float))
    else:
        print(format_tiers(result))
    return 0
