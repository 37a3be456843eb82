"""``costlib estimate PARAMS [--json] [--floor] [--set dotted.key=value ...]``: price every option
for a month.

The totals table shows each option's floor (``floor_usd``: paid in a month without requests)
and usage part (``usage_usd``), and with a ``work_unit:`` block the cost per unit of work;
``--floor`` lists the items that make up each floor.
"""

from __future__ import annotations

import json


def register(subparsers) -> None:
    """Add ``costlib estimate``."""
    p = subparsers.add_parser("estimate", help="price every option of a params file for one month")
    p.add_argument("params", help="a YAML params file, e.g. params/default.yaml")
    p.add_argument("--json", action="store_true", help="print one JSON object")
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


def _cmd_estimate(args) -> int:
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params, parse_set_overrides

    params = load_params(args.params, parse_set_overrides(args.set))
    result = estimate(params)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=False, default=str))
    else:
        print(format_estimate(result, floor=args.floor))
    return 0
