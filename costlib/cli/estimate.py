"""``costlib estimate PARAMS [--format text|json|focus|xlsx] [--out FILE] [--regions R1,R2]
[--month YYYY-MM] [--floor] [--set dotted.key=value ...]``: price every option for a month.

The totals table shows each option's floor (``floor_usd``: paid in a month without requests)
and usage part (``usage_usd``), and with a ``work_unit:`` block the cost per unit of work;
``--floor`` lists the items that make up each floor.

Formats: ``text`` (default), ``json`` (``--json`` is its alias), ``focus`` (FinOps FOCUS 1.2
rows as CSV, :mod:`costlib.bill.focus`; ``--month`` picks the forecast month) and ``xlsx`` (a
workbook for finance, ``--out`` required; :mod:`costlib.cli.export`). ``--regions`` prices the
same params in each region and prints one table, options x regions (text or json): a region
without a price a line item needs names the missing row and leaves its cells empty
(:mod:`costlib.whatif.regions`). It is a flag of ``estimate``, not a verb of its own, because
it is the same estimate asked of several regions and takes the same ``--set`` overrides.
"""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout
from costlib.core.errors import CostlibError

from pathlib import Path

FORMATS = ("text", "json", "focus", "xlsx")


def register(subparsers) -> None:
    """Add ``costlib estimate``."""
    p = subparsers.add_parser("estimate", help="price every option of a params file for one month")
    p.add_argument("params", help="a YAML params file, e.g. params/default.yaml")
    p.add_argument("--json", action="store_true", help="print one JSON object (= --format json)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="text (default), json, focus (FinOps FOCUS 1.2 CSV rows) or xlsx "
                        "(a workbook; needs --out)")
    p.add_argument("--out", metavar="FILE",
                   help="write to FILE instead of stdout (.csv for focus, .xlsx for xlsx)")
    p.add_argument("--month", metavar="YYYY-MM",
                   help="forecast month of the FOCUS rows (default: the month prices are in force)")
    p.add_argument("--regions", metavar="R1,R2",
                   help="price the params in each region: one table, options x regions")
    p.add_argument("--floor", action="store_true",
                   help="list each option's floor items (what it costs without requests)")
    p.add_argument(
        "--set",
        action="append",
        metavar="dotted.key=value",
        help="override any key of the file, e.g. --set workload.avg_rps=10 (repeatable)",
    )
    p.set_defaults(func=_cmd_estimate)


def format_estimate(result, floor: bool = False) -> str:
    """The estimate as readable tables (what ``costlib estimate`` prints without ``--json``).

    ``floor``: after the totals, each option's floor items (``--floor``).
    """
    import pandas as pd

    lines = [f"{result.title}  (region {result.region})"]
    w = result.workload
    lines.append(
        "workload: "
        + ", ".join(f"{k}={v:g}" for k, v in w.items() if isinstance(v, (int, float)))
    )
    unit = result.work_unit
    if unit is not None:
        lines.append(
            f"work unit: {unit['name']}: {unit['turns']} turns x "
            f"{unit['requests_per_unit'] / unit['turns']:g} model call(s) a turn = "
            f"{unit['requests_per_unit']:g} requests, {unit['units_per_month']:,.0f} units/month; "
            f"{unit['retrievals_per_unit']:g} retrievals and {unit['tool_calls_per_unit']:g} "
            "tool calls per unit (tool calls counted, not priced)")
    lines.append("")
    totals = result.totals_frame()
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        lines.append(
            totals.to_string(
                index=False,
                formatters={
                    "monthly_usd": "{:,.2f}".format,
                    "usd_per_request": "{:.6f}".format,
                    "usd_per_1k_tokens": "{:.6f}".format,
                    "floor_usd": "{:,.2f}".format,
                    "usage_usd": "{:,.2f}".format,
                    "usd_per_unit": "{:.6f}".format,
                    "usd_per_unit_all_in": "{:.6f}".format,
                },
            )
        )
        lines.append("floor_usd: paid in a month without requests (hourly resources, keys, "
                     "provisioned capacity); usage_usd = monthly_usd - floor_usd")
        if unit is not None:
            lines.append("usd_per_unit = usage_usd / units per month (one more unit); "
                         "usd_per_unit_all_in = monthly_usd / units per month")
        lines.append("")
        lines.append(f"cheapest: {result.cheapest}")
        if floor:
            lines.extend(_floor_lines(result, pd))
        for o in result.options:
            lines.append("")
            lines.append(f"{o.name} ({o.kind}): {o.monthly_usd:,.2f} USD/month")
            items = pd.DataFrame(
                [
                    {
                        "category": li.category,
                        "item": li.item,
                        "quantity": li.quantity,
                        "unit": li.unit,
                        "unit_usd": li.unit_usd,
                        "monthly_usd": li.monthly_usd,
                    }
                    for li in o.line_items
                ]
            )
            lines.append(
                items.to_string(
                    index=False,
                    formatters={
                        "quantity": "{:,.2f}".format,
                        "unit_usd": "{:.6g}".format,
                        "monthly_usd": "{:,.2f}".format,
                    },
                )
            )
    prices = result.prices or {}
    if prices.get("oldest_as_of"):
        lines.append("")
        lines.append(f"oldest price used: as of {prices['oldest_as_of']}")
    for r in prices.get("overridden", []):
        lines.append(f"overridden price: {r['service']}/{r['name']}/{r['dimension']} = "
                     f"{r['usd']:.6g} (list {r['list_usd']:.6g}; {r['override']})")
    for warning in prices.get("warnings", []):
        lines.append(f"warning: {warning.split('; source:')[0]}")  # sources: --json
    return "\n".join(lines)


def _floor_lines(result, pd) -> list[str]:
    from costlib.bill.estimate import floor_items

    lines = []
    for o in result.options:
        lines.append("")
        lines.append(f"{o.name} floor: {o.floor_usd:,.2f} USD/month without requests")
        items = floor_items(result, o.name)
        if not items:
            lines.append("  (nothing: every item scales with use)")
            continue
        frame = pd.DataFrame([{"category": li.category, "item": li.item,
                               "quantity": li.quantity, "unit": li.unit,
                               "unit_usd": li.unit_usd, "floor_usd": li.monthly_usd}
                              for li in items])
        lines.append(frame.to_string(index=False, formatters={
            "quantity": "{:,.2f}".format, "unit_usd": "{:.6g}".format,
            "floor_usd": "{:,.2f}".format}))
    return lines


def _format(args) -> str:
    from costlib.core.errors import CostlibError

    fmt = args.format or ("json" if args.json else "text")
    if args.json and fmt != "json":
        raise CostlibError(f"--json and --format {fmt} disagree; give one of them")
    if fmt == "xlsx" and not args.out:
        raise CostlibError("--format xlsx needs --out FILE.xlsx")
    if args.regions and fmt not in ("text", "json"):
        raise CostlibError(f"--regions prints a table: use it with --format text or json, not {fmt}")
    if args.month and fmt != "focus":
        raise CostlibError("--month sets the month of FOCUS rows: use it with --format focus")
    return fmt


def format_regions(comparison) -> str:
    """The regions table as text: options x (total, categories) by region, then the gaps."""
    import math

    table = comparison.table()
    lines = [f"{comparison.title}: monthly USD by region (empty: the region lacks a price)"]
    regions = list(comparison.regions)

    def cell(x):
        return "" if isinstance(x, float) and math.isnan(x) else f"{x:,.2f}"

    shown = table.copy()
    for r in regions:
        shown[r] = shown[r].map(cell)
    lines.append(shown.to_string(index=False))
    gaps = comparison.missing_lines()
    if gaps:
        lines.append("")
        lines.extend(gaps)
    return "\n".join(lines)


def _emit(text: str, out) -> None:
    if out is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return
    from costlib.cli.export import atomic_write_bytes

    path = Path(out)
    if not path.parent.is_dir():
        from costlib.core.errors import CostlibError

        raise CostlibError(f"--out {out}: folder {path.parent} does not exist")
    atomic_write_bytes(path, (text if text.endswith("\n") else text + "\n").encode("utf-8"))


def _cmd_estimate(args) -> int:
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params, parse_set_overrides

    fmt = _format(args)
    params = load_params(args.params, parse_set_overrides(args.set))
    if args.regions:
        from costlib.whatif.regions import compare_regions, parse_regions

        cmp = compare_regions(params, parse_regions(args.regions))
        unknown = [r for r in cmp.results if (r.error or "").startswith("region: unknown region")]
        if unknown:  # a typo, not a region that lacks some prices
            raise CostlibError(f"--regions: {unknown[0].error.removeprefix('region: ')}")
        text = (_jsonout.dumps(cmp.to_dict(), indent=2, default=str) if fmt == "json"
                else format_regions(cmp))
        _emit(text, args.out)
        return 0
    result = estimate(params)
    if fmt == "json":
        _emit(_jsonout.dumps(result.to_dict(), indent=2, sort_keys=False, default=str), args.out)
    elif fmt == "focus":
        from costlib.cli.export import write_focus

        text = write_focus(result, args.out, args.month)
        if text is not None:
            print(text, end="")
    elif fmt == "xlsx":
        from costlib.cli.export import write_xlsx

        source = params.source_path
        params_text = source.read_text(encoding="utf-8") if source is not None else None
        write_xlsx(result, args.out, params_text)
    else:
        _emit(format_estimate(result, floor=args.floor), args.out)
    return 0
