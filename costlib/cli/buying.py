"""``costlib buying PARAMS [--option NAME] [--discount-pct X] [--json]``: ways of buying each
self-hosted fleet (:func:`costlib.whatif.buying.buying_options`).

One table per self-hosted option (or only ``--option``): on demand, each commitment kind at a
stated discount with the committed count sized to the demand curve, a Capacity Block, Spot with
on-demand fallback, and the mix; the fleet's and the option's monthly totals, the committed
count and the break-even utilisation of the commitment. No Savings Plan or RI rate for a GPU
instance is in the tables: without ``--discount-pct`` those rows (and the mix) are listed, not
priced, and the output says what to state.
"""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout

import math


def register(subparsers) -> None:
    """Add ``costlib buying``."""
    p = subparsers.add_parser(
        "buying", help="on demand, commitments, Capacity Blocks and Spot for each self-hosted fleet")
    p.add_argument("params", help="a YAML params file, e.g. params/scenario_b_steady.yaml")
    p.add_argument("--option", help="only this self-hosted option (default: every one)")
    p.add_argument("--discount-pct", type=float,
                   help="stated Savings Plan / RI discount off On-Demand, percent (default: those "
                        "rows are not priced: no rate for a GPU instance is published)")
    p.add_argument("--term-years", type=int, choices=(1, 3), default=1,
                   help="commitment term reported with the rate (default 1)")
    p.add_argument("--payment", choices=("no_upfront", "partial_upfront", "all_upfront"),
                   default="no_upfront", help="payment option reported with the rate")
    p.add_argument("--spot-discount-pct", type=float,
                   help="Spot discount, percent (default: the Spot Instance Advisor reading)")
    p.add_argument("--fallback-share", type=float,
                   help="share of Spot hours run on demand, 0-1 (default: the upper end of the "
                        "Advisor's interruption band)")
    p.add_argument("--spot-source", help="source of the given Spot figures")
    p.add_argument("--spot-as-of", help="date of the given Spot figures, YYYY-MM-DD")
    p.add_argument("--block-days", type=int, default=182,
                   help="Capacity Block duration, days (1-14, or 21 ... 182; default 182)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--set", action="append", metavar="dotted.key=value",
                   help="override any key of the file first (repeatable)")
    p.set_defaults(func=_cmd_buying)


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def _cmd_buying(args) -> int:
    from costlib.bill.params import load_params, parse_set_overrides
    from costlib.core.errors import CostlibError
    from costlib.formulas.commitments import check_capacity_block_days
    from costlib.whatif.buying import buying_options, format_buying, self_hosted_options

    check_capacity_block_days(args.block_days, "buying: --block-days")
    params = load_params(args.params, parse_set_overrides(args.set))
    from costlib.bill.estimate import estimate

    estimate(params)  # a file with any option that cannot be priced is refused, as by estimate
    names = [args.option] if args.option else self_hosted_options(params)
    if not names:
        raise CostlibError(f"buying: {args.params} has no self_hosted option")
    tables = [buying_options(params, n, discount_pct=args.discount_pct,
                             term_years=args.term_years, payment=args.payment,
                             spot_discount_pct=args.spot_discount_pct,
                             fallback_share=args.fallback_share, spot_source=args.spot_source,
                             spot_as_of=args.spot_as_of, block_days=args.block_days)
              for n in names]
    if args.json:
        print(_jsonout.dumps(_clean({"options": [t.to_dict() for t in tables]}), indent=2))
    else:
        print("\n\n".join(format_buying(t) for t in tables))
    return 0
