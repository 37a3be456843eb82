"""``costlib uncertainty PARAMS``: a seeded Monte Carlo over the file's uncertain inputs, with
P10/P50/P90 of every option's monthly bill and the probability that each is the cheapest
(:func:`costlib.whatif.uncertainty.monte_carlo`)."""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout



def register(subparsers) -> None:
    """Add ``costlib uncertainty``."""
    p = subparsers.add_parser(
        "uncertainty",
        help="Monte Carlo over the inputs given as distributions: P10/P50/P90 and P(cheapest)")
    p.add_argument("params", help="a YAML params file with at least one {dist: ..} input")
    p.add_argument("--draws", type=int, help="draws (default: uncertainty.draws, else 10,000)")
    p.add_argument("--seed", type=int, help="seed (default: uncertainty.seed, else 13)")
    p.add_argument("--levels", type=int, default=16,
                   help="atoms per structural input (default 16)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--set", action="append", metavar="dotted.key=value",
                   help="override any key first (repeatable); a value may be a distribution, "
                        "e.g. workload.avg_rps='{dist: triangular, low: 30, mode: 40, high: 60}'")
    p.set_defaults(func=_cmd_uncertainty)


def format_monte_carlo(mc) -> str:
    """The table option | point | P10 | P50 | P90 | P(cheapest), the inputs, the notes."""
    head = ("option", "point USD/mo", "P10", "P50", "P90", "P(cheapest)")
    rows = [(o, f"{mc.point_usd[o]:,.0f}", f"{mc.p10_usd[o]:,.0f}", f"{mc.p50_usd[o]:,.0f}",
             f"{mc.p90_usd[o]:,.0f}", f"{mc.p_cheapest[o]:.1%}") for o in mc.options]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    out = [line(head), line(tuple("-" * w for w in widths)), *map(line, rows), "",
           "uncertain inputs:"]
    for key, dist in mc.distributions.items():
        tag = f" [discretised to {mc.levels} atoms]" if key in mc.structural else ""
        out.append(f"  {key}: {dist.describe()}; point {dist.point:,.6g}, P10 "
                   f"{dist.ppf(0.1):,.6g}, P90 {dist.ppf(0.9):,.6g}{tag}")
    out += ["", "notes:"] + [f"  - {n}" for n in mc.notes]
    return "\n".join(out)


def _cmd_uncertainty(args) -> int:
    from costlib.bill.params import load_params, parse_set_overrides
    from costlib.whatif.uncertainty import monte_carlo

    params = load_params(args.params, parse_set_overrides(args.set))
    mc = monte_carlo(params, draws=args.draws, seed=args.seed, levels=args.levels)
    if args.json:
        print(_jsonout.dumps(mc.to_dict(), indent=2))
    else:
        print(format_monte_carlo(mc))
    return 0
