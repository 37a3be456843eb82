"""``costlib sensitivity PARAMS [--option NAME] [--top N] [--set k=v ...] [--json]``: how much
each input moves every option's monthly total between its low and high value
(:func:`costlib.whatif.sensitivity.tornado`).

One table per option, the cheapest first (or only ``--option``): input, low, high, the total at
each end, the swing in USD and as a share of today's total, and where the range comes from.
"""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout



def register(subparsers) -> None:
    """Add ``costlib sensitivity``."""
    p = subparsers.add_parser(
        "sensitivity", help="how much each input moves every option's total (tornado table)")
    p.add_argument("params", help="a YAML params file, e.g. params/scenario_b_steady.yaml")
    p.add_argument("--option", help="only this option (default: every option, cheapest first)")
    p.add_argument("--top", type=int, default=10,
                   help="inputs shown per option, largest swing first (default 10; 0 for all)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--set", action="append", metavar="dotted.key=value",
                   help="override any key of the file first (repeatable)")
    p.set_defaults(func=_cmd_sensitivity)


def _value(x) -> str:
    return x if isinstance(x, str) else f"{x:,.4g}"


def format_tornado(result, top: int = 10) -> str:
    """Plain-text tables, one per option, cheapest first; the ranges' origins as footnotes."""
    lines = [result.title, ""] if result.title else []
    header = ["input", "low", "high", "total at low", "total at high", "swing USD", "swing %",
              "range from"]
    right = {1, 2, 3, 4, 5, 6}
    notes: dict[str, int] = {}
    for option in result.options:
        t = result.table(option)
        if top > 0:
            t = t.head(top)
        rows = []
        for r in t.itertuples():
            mark = notes.setdefault(r.origin, len(notes) + 1)
            rows.append([(r.input if r.input == r.key else f"{r.input} [{r.key}]"), _value(r.low), _value(r.high),
                         f"{r.low_usd:,.0f}", f"{r.high_usd:,.0f}", f"{r.swing_usd:,.0f}",
                         f"{r.swing_pct:.1f}", f"[{mark}]"])
        widths = [max(len(c) for c in col) for col in zip(header, *rows)]
        cheapest = (" (cheapest today)" if option == result.cheapest and len(result.options) > 1
                    else "")
        lines.append(f"{option}{cheapest}: {result.base_usd[option]:,.0f} USD/month today")
        for cells in [header, *rows]:
            lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
        lines.append("")
    lines += [f"[{i}] {origin}" for origin, i in notes.items()]
    lines.append("One input at a time, every other input at its value in the file; a "
                 "self-hosted fleet moves in whole instances. The ranges are stated spans, not "
                 "measured distributions: a swing says what its range implies, not how likely "
                 "it is.")
    return "\n".join(lines)


def _cmd_sensitivity(args) -> int:
    from costlib.bill.params import load_params, parse_set_overrides
    from costlib.core.errors import CostlibError
    from costlib.whatif.sensitivity import tornado

    if args.top < 0:
        raise CostlibError("sensitivity: --top must be 0 (all) or a positive number")
    params = load_params(args.params, parse_set_overrides(args.set))
    result = tornado(params, args.option)
    if args.json:
        print(_jsonout.dumps(result.to_dict(), indent=2))
    else:
        print(format_tornado(result, args.top))
    return 0
