"""``costlib diff A [B] [--set dotted.key=value ...]``: the change of every line item and total.

``costlib diff A.yaml B.yaml`` prices both files; ``costlib diff A.yaml --set k=v`` prices A
against itself with the overrides; with both, the overrides apply to B. The totals come first,
then the changed line items of each option (``--all`` lists the unchanged ones too).
``--format markdown`` prints GitHub-flavoured tables for a pull-request comment; ``--json`` the
dict of :func:`costlib.whatif.diff.diff_to_dict`; ``--format html`` a self-contained page (no
script, inline SVG) with the totals, a waterfall chart per changed option and the changed items.
``--out FILE`` writes any format to FILE instead of printing it, through a temporary file in the
same folder renamed into place, so a failure never leaves half a file. pandas and the bill are imported inside the
handler, so ``costlib --help`` stays light.
"""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout

import math
import os
import tempfile
from pathlib import Path

from costlib.core.errors import CostlibError


def register(subparsers) -> None:
    """Add ``costlib diff``."""
    p = subparsers.add_parser("diff", help="the change of every line item and total between two params files")
    p.add_argument("before", help="a YAML params file, e.g. params/default.yaml")
    p.add_argument("after", nargs="?", help="a second params file (default: BEFORE with the --set overrides)")
    p.add_argument(
        "--set",
        action="append",
        metavar="dotted.key=value",
        help="override a key of AFTER (or of BEFORE when AFTER is not given), e.g. "
             "--set workload.avg_rps=20 (repeatable)",
    )
    p.add_argument("--all", action="store_true", help="list unchanged line items too")
    p.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text",
                   help="text tables (default), GitHub-flavoured markdown, JSON, or a "
                        "self-contained HTML page with a waterfall chart per changed option")
    p.add_argument("--out", metavar="FILE",
                   help="write to FILE (any format) instead of standard output")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.set_defaults(func=_cmd_diff)


def _usd(x: float) -> str:
    return f"{x:,.2f}"


def _signed(x: float) -> str:
    return "0.00" if x == 0 else f"{x:+,.2f}"


def _pct(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "new"
    return "0.0%" if x == 0 else f"{x:+.1f}%"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Plain text columns: numbers right-aligned, words left-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _md_cell(x) -> str:
    return str(x).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else ":---" for i in range(len(header))]
    return ["| " + " | ".join(_md_cell(h) for h in header) + " |",
            "| " + " | ".join(align) + " |",
            *("| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows)]


TOTAL_HEADER = ["option", "before USD/month", "after USD/month", "change", "change %", "status"]
ITEM_HEADER = ["category", "item", "unit", "before", "after", "change", "change %", "status"]
NUMBERS_TOTAL = {1, 2, 3, 4}
NUMBERS_ITEM = {3, 4, 5, 6}


def format_diff(totals, items, before_label: str, after_label: str, *, show_all: bool = False,
                markdown: bool = False) -> str:
    """The diff as text (or markdown) tables: the totals, then the changed items per option.

    ``totals`` and ``items`` are the frames of :func:`costlib.whatif.diff.diff_totals` and
    :func:`costlib.whatif.diff.diff_estimates`.
    """
    table = _md_table if markdown else _table
    lines = [f"**before:** `{before_label}`  \n**after:** `{after_label}`" if markdown
             else f"before: {before_label}\nafter:  {after_label}", ""]
    if markdown:
        lines += ["### Totals (USD/month)", ""]
    t_rows = [[r.option, _usd(r.before_usd), _usd(r.after_usd), _signed(r.change_usd),
               _pct(r.change_pct), r.status] for r in totals.itertuples()]
    lines += table(TOTAL_HEADER, t_rows, NUMBERS_TOTAL)
    totals_by_option = totals.set_index("option")
    for option, group in items.groupby("option", sort=False):
        shown = group if show_all else group[group["status"] != "same"]
        unchanged = int((group["status"] == "same").sum())
        t = totals_by_option.loc[option]
        head = (f"{option}: {_usd(t.before_usd)} -> {_usd(t.after_usd)} USD/month "
                f"({_signed(t.change_usd)}, {_pct(t.change_pct)})")
        lines += ["", f"### {head}" if markdown else head]
        if len(shown):
            if markdown:
                lines.append("")
            rows = [[r.category, r.item, r.unit, _usd(r.before_usd), _usd(r.after_usd),
                     _signed(r.change_usd), _pct(r.change_pct), r.status]
                    for r in shown.itertuples()]
            lines += table(ITEM_HEADER, rows, NUMBERS_ITEM)
        if unchanged and not show_all:
            note = f"{unchanged} unchanged line item{'s' if unchanged != 1 else ''} not listed (--all lists them)"
            lines += ["", f"_{note}_"] if markdown else [f"  {note}"]
    return "\n".join(lines)


def write_atomic(path, text: str, what: str = "diff") -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, renamed into place.

    A failure leaves ``path`` as it was (absent or the old file), never half written.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CostlibError(f"{what}: --out {path}: folder {folder} does not exist; create it or "
                           "choose another path")
    if path.is_dir():
        raise CostlibError(f"{what}: --out {path} is a folder; give a file name")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def format_diff_html(before, after, before_label: str, after_label: str, *,
                     show_all: bool = False) -> str:
    """The diff as one self-contained HTML page: the totals, then per changed option its
    waterfall chart (:func:`costlib.lessons.charts.waterfall_chart`) and its changed items."""
    import html as _html

    from costlib.lessons import charts, summary
    from costlib.whatif.diff import diff_estimates, diff_totals, waterfall_frame

    e = _html.escape
    totals, items = diff_totals(before, after), diff_estimates(before, after)
    title = f"costlib diff: {before_label} -> {after_label}"
    out = ["<h1>What the change does to the bill</h1>",
           f'<p class="muted">before: <code>{e(before_label)}</code><br>after: '
           f'<code>{e(after_label)}</code> · USD per month · a month is 730 hours</p>',
           "<h2 id=\"totals\">Totals</h2>"]
    frame = totals.rename(columns={"before_usd": "before usd", "after_usd": "after usd",
                                   "change_usd": "change usd", "change_pct": "change %"})
    out.append(summary._table(frame, {"before usd": ",.2f", "after usd": ",.2f",
                                      "change usd": "+,.2f", "change %": "+.1f"}))
    changed = list(totals.loc[totals["status"] != "same", "option"])
    if not changed:
        out.append("<p>No option's total changes.</p>")
    for option in changed:
        t = totals.set_index("option").loc[option]
        out.append(f"<h2>{e(option)}: {_usd(t.before_usd)} -&gt; {_usd(t.after_usd)} USD/month "
                   f"({e(_signed(t.change_usd))}, {e(_pct(t.change_pct))})</h2>")
        out.append("<h3>Where does the change come from, line item by line item?</h3>")
        w = waterfall_frame(before, after, option)
        out.append(summary.svg_image(charts.waterfall_chart(w),
                                     alt=f"waterfall of {option}'s monthly bill"))
        if (w["items"] > 1).any():
            out.append('<p class="muted">The eight largest changes are drawn one by one; the '
                       'rest are summed into one step.</p>')
        group = items[items["option"] == option]
        shown = group if show_all else group[group["status"] != "same"]
        shown = shown[["category", "item", "unit", "before_usd", "after_usd", "change_usd",
                       "change_pct", "status"]].rename(columns={
            "before_usd": "before usd", "after_usd": "after usd", "change_usd": "change usd",
            "change_pct": "change %"})
        out.append(summary._table(shown, {"before usd": ",.2f", "after usd": ",.2f",
                                          "change usd": "+,.2f", "change %": "+.1f"}))
        unchanged = int((group["status"] == "same").sum())
        if unchanged and not show_all:
            out.append(f'<p class="muted">{unchanged} unchanged line item'
                       f'{"s" if unchanged != 1 else ""} not listed (--all lists them).</p>')
    return summary.html_page(title, out)


def _label(path: str, pairs: list[str] | None) -> str:
    return " ".join([path, *(f"--set {p}" for p in pairs or [])])


def _cmd_diff(args) -> int:
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params, parse_set_overrides
    from costlib.whatif.diff import diff_estimates, diff_to_dict, diff_totals

    overrides = parse_set_overrides(args.set)
    before_params = load_params(args.before)
    after_path = args.after or args.before
    after_params = load_params(after_path, overrides)
    before, after = estimate(before_params), estimate(after_params)
    before_label, after_label = args.before, _label(after_path, args.set)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        out = {"before": before_label, "after": after_label, **diff_to_dict(before, after)}
        text = _jsonout.dumps(out, indent=2, default=str)
    elif fmt == "html":
        text = format_diff_html(before, after, before_label, after_label, show_all=args.all)
    else:
        text = format_diff(diff_totals(before, after), diff_estimates(before, after),
                           before_label, after_label, show_all=args.all,
                           markdown=fmt == "markdown")
    if args.out:
        write_atomic(args.out, text if text.endswith("\n") else text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0
