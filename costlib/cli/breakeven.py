"""``costlib breakeven PARAMS --key KEY --between A B``: the value of one input at which two
options cost the same (:func:`costlib.whatif.breakeven.breakeven`).

``--chart FILE.svg`` also writes the break-even chart (:func:`costlib.lessons.charts.breakeven_chart`:
both bills across the range, a rule at each crossing and at today's value) as SVG, through a
temporary file renamed into place."""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout



def register(subparsers) -> None:
    """Add ``costlib breakeven``."""
    p = subparsers.add_parser(
        "breakeven", help="the value of one input at which two options cost the same")
    p.add_argument("params", help="a YAML params file, e.g. params/scenario_b_steady.yaml")
    p.add_argument("--key", required=True,
                   help="a numeric dotted key, e.g. options.bedrock_llama31_70b."
                        "usd_per_1m_input_tokens, or 'traffic' (the whole profile scaled)")
    p.add_argument("--between", nargs=2, required=True, metavar=("A", "B"),
                   help="the two options compared")
    p.add_argument("--lo", type=float, help="bottom of the range (default: a tenth of the value)")
    p.add_argument("--hi", type=float, help="top of the range (default: ten times the value)")
    p.add_argument("--grid", type=int, default=64, help="points of the first sweep (default 64)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--chart", metavar="FILE.svg",
                   help="also write the chart of both bills across the range as SVG")
    p.add_argument("--set", action="append", metavar="dotted.key=value",
                   help="override any key of the file first (repeatable)")
    p.set_defaults(func=_cmd_breakeven)


def format_breakeven(result) -> str:
    """One or two lines: the crossing(s) and which option is cheaper on each side."""
    a, b = result.options
    head = (f"{result.key} from {result.lo:,.6g} to {result.hi:,.6g}"
            + (f" (now {result.current:,.6g})" if result.current is not None else "")
            + f": {a} vs {b}")
    return f"{head}\n{result.note}"


def _cmd_breakeven(args) -> int:
    from costlib.bill.params import load_params, parse_set_overrides
    from costlib.whatif.breakeven import breakeven

    from costlib.core.errors import CostlibError

    if args.chart and not str(args.chart).lower().endswith(".svg"):
        raise CostlibError(f"breakeven: --chart {args.chart}: the chart is written as SVG; "
                           "give a file name ending in .svg")
    params = load_params(args.params, parse_set_overrides(args.set))
    a, b = args.between
    from costlib.core.inputs import check_finite

    for flag, value in (("--lo", args.lo), ("--hi", args.hi)):
        if value is not None:
            check_finite(value, flag)
    result = breakeven(params, args.key, a, b, lo=args.lo, hi=args.hi, grid=args.grid)
    if args.chart:
        from costlib.cli.diff import write_atomic
        from costlib.lessons.charts import breakeven_chart
        from costlib.lessons.summary import chart_svg

        write_atomic(args.chart, chart_svg(breakeven_chart(result)), what="breakeven")
    if args.json:
        print(_jsonout.dumps(result.to_dict(), indent=2))
    else:
        print(format_breakeven(result))
    return 0
