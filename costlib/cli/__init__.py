"""The ``costlib`` command line.

``costlib estimate PARAMS [--json] [--set dotted.key=value ...]``
    Price every option of a params file for one month.
``costlib report PARAMS... [--out DIR]``
    Run every notebook with papermill for each params file into ``outputs/<stem>/``.

Other modules add their own sub-commands through a ``register(subparsers)`` function (prices,
throughput). Bad input prints one line to stderr and exits 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from costlib.core.errors import EXIT_USAGE, CostlibError

# Modules that add sub-commands; each has register(subparsers). Missing ones are skipped.
PLUGIN_MODULES = ("costlib.cli.prices", "costlib.cli.throughput", "costlib.cli.levers")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CostlibError(f"{self.prog}: {message}")


def format_estimate(result) -> str:
    """The estimate as readable tables (what ``costlib estimate`` prints without ``--json``)."""
    import pandas as pd

    lines = [f"{result.title}  (region {result.region})"]
    w = result.workload
    lines.append(
        "workload: "
        + ", ".join(f"{k}={v:g}" for k, v in w.items() if isinstance(v, (int, float)))
    )
    lines.append("")
    totals = result.totals_frame()
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        lines.append(
            totals.to_string(
                index=False,
                formatters={
                    "monthly_usd": "{:,.2f}".format,
                    "usd_per_request": "{:.6f}".format,
                    "usd_per_1k_tokens": "{:.6f}".format,
                },
            )
        )
        lines.append("")
        lines.append(f"cheapest: {result.cheapest}")
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


def _cmd_estimate(args) -> int:
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params, parse_set_overrides

    params = load_params(args.params, parse_set_overrides(args.set))
    result = estimate(params)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=False, default=str))
    else:
        print(format_estimate(result))
    return 0


def _cmd_report(args) -> int:
    from costlib.cli.report import build_reports

    return build_reports([Path(p) for p in args.params], out_dir=Path(args.out) if args.out else None)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="costlib", description="What an LLM application on AWS really costs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("estimate", help="price every option of a params file for one month")
    p.add_argument("params", help="a YAML params file, e.g. params/default.yaml")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--set",
        action="append",
        metavar="dotted.key=value",
        help="override any key of the file, e.g. --set workload.avg_rps=10 (repeatable)",
    )
    p.set_defaults(func=_cmd_estimate)

    p = sub.add_parser("report", help="build the notebook report for each params file")
    p.add_argument("params", nargs="+", help="one or more params files")
    p.add_argument("--out", help="output folder (default: outputs/)")
    p.set_defaults(func=_cmd_report)

    for name in PLUGIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``costlib`` console script; returns the exit code."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except CostlibError as exc:
        print(f"costlib: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
