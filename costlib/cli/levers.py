"""``costlib levers PARAMS [--json] [--set dotted.key=value ...]``: the article's levers.

Prints, for each lever of :mod:`costlib.whatif.levers` and each option of the params file, the monthly
total before and after pulling the lever, the change, and the overrides used (``--set`` them on
``costlib estimate`` to see every line item). Levers that do not apply to the file are listed
with the reason. ``--json`` prints the same rows as one JSON object.
"""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout

import json
import math


def format_levers(title: str, report) -> str:
    """The lever report as readable text (what ``costlib levers`` prints without ``--json``)."""
    lines = [title, ""]
    applied = report[report["applies"]]
    header = f"{'lever':<26} {'option':<34} {'before usd/mo':>15} {'after usd/mo':>15} {'change':>9}"
    lines.append(header)
    lines.append("-" * len(header))
    for r in applied.itertuples():
        if isinstance(r.after_usd, float) and math.isnan(r.after_usd):
            after, change = "n/a", "n/a"
        else:
            after, change = f"{r.after_usd:,.2f}", f"{r.change_pct:+.1f}%"
        mark = "" if r.targeted else " (not aimed at)"
        lines.append(f"{r.lever:<26} {r.option + mark:<34} {r.before_usd:>15,.2f} {after:>15} "
                     f"{change:>9}")
    lines.append("")
    lines.append("overrides used (add them with --set to `costlib estimate` to see line items):")
    for lever, group in applied[applied["targeted"]].groupby("lever", sort=False):
        for r in group.itertuples():
            lines.append(f"  {lever} / {r.option}: {r.overrides}")
    skipped = report[~report["applies"]].drop_duplicates("lever")
    if len(skipped):
        lines.append("")
        lines.append("not applied to this file:")
        for r in skipped.itertuples():
            lines.append(f"  {r.lever}: {r.why.split('Does not apply: ', 1)[-1]}")
    return "\n".join(lines)


def _cmd_levers(args) -> int:
    from costlib.whatif.levers import lever_report
    from costlib.bill.params import load_params, parse_set_overrides

    params = load_params(args.params, parse_set_overrides(args.set))
    report = lever_report(params)
    if args.json:
        records = json.loads(report.to_json(orient="records"))
        print(_jsonout.dumps({"title": params.title, "levers": records}, indent=2))
    else:
        print(format_levers(params.title, report))
    return 0


def register(subparsers) -> None:
    """Add ``costlib levers`` to the command line."""
    p = subparsers.add_parser("levers", help="before/after of each of the article's cost levers")
    p.add_argument("params", help="a YAML params file, e.g. params/rag_plumbing.yaml")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--set", action="append", metavar="dotted.key=value",
                   help="override any key of the file before pulling the levers (repeatable)")
    p.set_defaults(func=_cmd_levers)
