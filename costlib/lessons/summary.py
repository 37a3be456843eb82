"""The one-page report a manager opens: the answer first, then every number behind it.

:func:`summary_html` turns a params file and its estimate into one self-contained HTML page:
no script, no style sheet, font or image from anywhere but the page itself (charts are inline
SVG, the style is in the page), readable printed and on a phone. It holds, in order:

1. the answer: the cheapest option, by how much, and the monthly total of every option split by
   cost category (one chart, the course's category palette);
2. per option: monthly total, per request, per 1k tokens, and for a self-hosted fleet its
   instances, the sequences each holds and what binds it (a latency bound, memory, the traffic);
3. how sure the totals are: P10/P50/P90 of every option over the inputs the file gives as
   distributions (:func:`uncertainty_section`), and which inputs move the cheapest option's
   total most, a tornado (:func:`sensitivity_section`);
4. where the verdict flips: the break-even of the cheapest managed API and the cheapest
   self-hosted option on the managed input price, its chart and one sentence
   (:func:`flip_section`);
   then each option's cheapest other way of buying (:func:`buying_section`);
5. the largest levers and what each saves;
6. the warnings: stale prices, prices a user overrode, assumptions;
7. the prices in force: the as-of date, the oldest price used and its source;
8. every line item, grouped by option, nothing cut;
9. the params file itself, once.

:func:`write_summary` writes it beside ``summary.json`` (the estimate contract) and
``line_items.csv`` (one row per option x line item).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from costlib.lessons import charts

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 margin:0 auto;max-width:62rem;padding:1rem 1.25rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem;margin:.2rem 0 .4rem} h2{font-size:1.2rem;margin:1.6rem 0 .5rem;
 border-bottom:1px solid #ddd;padding-bottom:.2rem} h3{font-size:1rem;margin:1rem 0 .3rem}
.answer{font-size:1.15rem;background:#f3f6fa;border-left:4px solid #4c78a8;padding:.6rem .9rem}
.muted{color:#555;font-size:.92rem} p,li{overflow-wrap:anywhere}
td:first-child,th:first-child{white-space:nowrap} td{overflow-wrap:break-word}
.wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-size:.9rem;margin:.3rem 0 .8rem;min-width:100%}
th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
thead th{background:#f7f7f7;position:sticky;top:0}
tr.total td{font-weight:600;border-top:2px solid #bbb}
ul.warn li{margin:.15rem 0} pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;font-size:.82rem}
img.chart{max-width:100%;height:auto}
nav a{margin-right:.8rem}
@media print{nav{display:none} body{max-width:none} thead th{position:static}
 h2{break-after:avoid} tr{break-inside:avoid}}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _usd(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def _table(frame: pd.DataFrame, numeric: dict[str, str], total: dict | None = None) -> str:
    """An HTML table of every row of ``frame``; ``numeric`` maps columns to a format spec."""
    head = "".join(f'<th class="num">{_e(c)}</th>' if c in numeric else f"<th>{_e(c)}</th>"
                   for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for col, v in zip(frame.columns, rec):
            if col in numeric and isinstance(v, (int, float)) and pd.notna(v):
                cells.append(f'<td class="num">{format(v, numeric[col])}</td>')
            else:
                cells.append(f"<td>{_e('' if v is None or (isinstance(v, float) and pd.isna(v)) else v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if total:
        cells = "".join(f'<td class="num">{format(total[c], numeric[c])}</td>' if c in total and c in numeric
                        else f"<td>{_e(total.get(c, ''))}</td>" for c in frame.columns)
        rows.append(f'<tr class="total">{cells}</tr>')
    return f'<div class="wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def chart_svg(chart) -> str:
    """An Altair chart as SVG text (vl-convert; offline, byte-stable)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


def svg_image(chart, alt: str = "monthly cost by option and category") -> str:
    """An Altair chart as an inline ``<img>`` of its SVG (vl-convert; offline, byte-stable)."""
    data = base64.b64encode(chart_svg(chart).encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="{_e(alt)}" src="data:image/svg+xml;base64,{data}">'


def html_page(title: str, sections: list[str]) -> str:
    """A self-contained page: the report's style inline, ``sections`` (HTML) in order."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(sections) + "</body></html>\n")


FLIP_QUESTION = "Where does self-hosting tie with the managed API?"
"""The question above the break-even chart of the page's "where the verdict flips" section."""


def flip_section(params, result) -> str:
    """The section "Where the verdict flips": the break-even chart and its one-sentence note.

    The cheapest managed API against the cheapest self-hosted option, on the managed model's
    input price (:func:`costlib.lessons.verdict.tie_breakeven`); a file without both sides gets
    one sentence saying so.
    """
    from costlib.lessons import verdict

    b = verdict.tie_breakeven(params, result)
    out = ['<h2 id="flips">Where the verdict flips</h2>', f"<h3>{_e(FLIP_QUESTION)}</h3>",
           f"<p>{_e(verdict.tie_sentence(b, result))}</p>"]
    if b is not None:
        out.append(svg_image(verdict.tie_chart(b), alt="both monthly bills across "
                             + charts.key_title(b.key)))
        out.append('<p class="muted">Both bills are the whole monthly bill, priced again at each '
                   'value (everything else as the params file says); the crossing is solved by '
                   'bisection on that bill, not read off a straight line. A solid rule marks a '
                   'tie, a dashed one a step of the bill, the dotted one today\'s value. Lesson '
                   '09 holds the traffic at which the two sides cross.</p>')
    return "\n".join(out)


SURE_QUESTION = "How sure is each option's monthly total?"
"""The question above the P10-P90 bands of the page's "how sure" section."""

MOVES_QUESTION = "Which inputs move the cheapest option's total most?"
"""The question above the tornado of the page's "what moves it" section."""


def uncertainty_section(params) -> str:
    """The section "How sure the totals are": the Monte Carlo's P10/P50/P90 bands, table and
    inputs (:func:`costlib.lessons.verdict.uncertainty`); one sentence for a file of plain
    numbers."""
    from costlib.lessons import verdict

    mc = verdict.uncertainty(params)
    out = ['<h2 id="sure">How sure the totals are</h2>', f"<h3>{_e(SURE_QUESTION)}</h3>",
           f"<p>{_e(verdict.uncertainty_sentence(mc, params))}</p>"]
    if mc is None:
        return "\n".join(out)
    out.append(svg_image(verdict.uncertainty_chart(mc), alt="P10 to P90 of each option's monthly bill"))
    out.append(_table(verdict.uncertainty_table(mc),
                      {"point usd": ",.0f", "P10 usd": ",.0f", "P50 usd": ",.0f", "P90 usd": ",.0f",
                       "cheapest in % of draws": ".1f"}))
    inputs = verdict.uncertain_inputs_table(mc)
    out.append("<p>The inputs drawn, as the params file states them:</p>")
    out.append(_table(inputs, {"point": ",.6g", "P10": ",.6g", "P90": ",.6g"}))
    out.append('<p class="muted">A bar spans P10 to P90 of the whole monthly bill over the draws, the '
               'tick is the P50, the dot the point estimate every other number on this page uses. '
               + "Notes: " + _e("; ".join(mc.notes)) + ".</p>")
    return "\n".join(out)


def sensitivity_section(params, result) -> str:
    """The section "What moves the total": the cheapest option's tornado and every option's three
    largest swings (:func:`costlib.lessons.verdict.sensitivity`)."""
    from costlib.lessons import verdict

    t = verdict.sensitivity(params)
    out = ['<h2 id="moves">What moves the total</h2>', f"<h3>{_e(MOVES_QUESTION)}</h3>",
           f"<p>{_e(verdict.sensitivity_sentence(t))}</p>",
           svg_image(verdict.sensitivity_chart(t), alt="tornado of the cheapest option's inputs"),
           "<p>Every option's three largest swings:</p>",
           _table(verdict.sensitivity_table(t),
                  {"low": ",.4g", "high": ",.4g", "total at low usd": ",.0f",
                   "total at high usd": ",.0f", "swing usd": ",.0f", "swing %": ".1f"}),
           '<p class="muted">One input at a time, every other input at its value in the file, each '
           'end priced on the whole bill. An input the file gives as a distribution moves from its '
           'P10 to its P90; every other input by the stated default range of '
           'costlib/data/sensitivity_ranges.yaml (its reason is in that file). A self-hosted fleet '
           'moves in whole instances. <code>costlib sensitivity PARAMS</code> prints every row.</p>']
    return "\n".join(out)


BUYING_QUESTION = "What would each option cost bought another way?"
"""The question above the page's "how the capacity is bought" section."""


def buying_frame(params) -> pd.DataFrame:
    """Per option: its bill as the params file buys it, and the cheapest other way the price
    tables can price (a fleet on a Capacity Block or Spot with fallback; a managed model on
    another Bedrock tier or mode for the lesson's latency-tolerant share)."""
    from costlib.lessons import buying

    rows = []
    fleets, tiers = buying.fleet_table(params), buying.tier_table(params)
    for frame, col, first in ((fleets, "option usd", "on demand"), (tiers, "monthly usd", "standard")):
        if isinstance(frame, str):
            continue
        how = "way of buying" if "way of buying" in frame else "mix"
        for name, group in frame.groupby("option", sort=False):
            base = group[group[how] == first][col].iloc[0]
            priced = group.dropna(subset=[col])
            best = priced.loc[priced[col].idxmin()]
            rows.append({"option": name, "as the file buys it usd": base,
                         "cheapest other way": "" if best[how] == first else best[how],
                         "its usd": best[col], "saves %": 100.0 * (base - best[col]) / base})
    return pd.DataFrame(rows)


def buying_section(params) -> str:
    """The section "How the capacity is bought": each option's cheapest other way of buying and
    what it assumes (lesson 10 has every row)."""
    from costlib.lessons import buying

    frame = buying_frame(params)
    out = ['<h2 id="buying">How the capacity is bought</h2>', f"<h3>{_e(BUYING_QUESTION)}</h3>"]
    if frame.empty:
        return "\n".join(out + ["<p>No option here has another way of buying to compare.</p>"])
    out.append(_table(frame, {"as the file buys it usd": ",.2f", "its usd": ",.2f", "saves %": ".1f"}))
    notes = [buying.fleet_note(params).data if buying.self_hosted_options(params) else "",
             buying.tier_note(params).data if buying.managed_options(params) else ""]
    out += [f"<p>{_e(n.replace('**', ''))}</p>" for n in notes if n]
    out.append('<p class="muted">No Savings Plan or Reserved Instance rate for a GPU instance, no '
               'Reserved-tier and no provisioned-throughput price for current Bedrock models could '
               'be sourced: those are not priced here (lesson 10 and <code>costlib buying</code> / '
               '<code>costlib tiers</code> price them at a rate you state). The tolerant share is '
               f'an assumption: {buying.TOLERANT_SHARE:.0%} of requests able to wait.</p>')
    return "\n".join(out)


def options_frame(result) -> pd.DataFrame:
    """One row per option: totals, unit costs, and a self-hosted fleet's size and binding limit."""
    rows = []
    unit = (result.work_unit or {}).get("name")
    for o in result.options:
        d = o.details
        per_unit = {f"usd per {unit}": o.usd_per_unit} if unit else {}
        rows.append({
            "option": o.name, "kind": o.kind, "monthly usd": o.monthly_usd,
            "floor usd": o.floor_usd,
            "usd per request": o.usd_per_request, "usd per 1k tokens": o.usd_per_1k_tokens,
            **per_unit,
            "instances (p95 / mean)": (f"{d['instances_p95']:g} / {d['avg_instances']:.2f}"
                                       if "instances_p95" in d else ""),
            "sequences per instance": d.get("batch_size") if o.kind == "self_hosted" else None,
        })
    return pd.DataFrame(rows)


def binding_lines(result) -> list[str]:
    """One sentence per self-hosted fleet: its size and what limits each instance."""
    out = []
    for o in result.options:
        d = o.details
        if o.kind != "self_hosted":
            continue
        out.append(f"{o.name}: {d['instances_p95']:g} instances at the p95 rate ({d['avg_instances']:.2f} "
                   f"billed on average), {d['batch_size']:,.1f} sequences each; limited by "
                   f"{d.get('binding', 'the params file')}")
    return out


def answer_sentence(result) -> str:
    """The cheapest option and its margin over the next, in one sentence."""
    ranked = sorted(result.options, key=lambda o: o.monthly_usd)
    best = ranked[0]
    if len(ranked) == 1:
        return f"{best.name} costs {_usd(best.monthly_usd)} USD a month."
    nxt = ranked[1]
    gap = nxt.monthly_usd - best.monthly_usd
    pct = gap / nxt.monthly_usd * 100 if nxt.monthly_usd else 0.0
    return (f"The cheapest way to serve this workload is {best.name} at {_usd(best.monthly_usd)} USD a "
            f"month ({_usd(best.usd_per_request, 6)} USD a request), {_usd(gap)} USD ({pct:.1f}%) below "
            f"the next, {nxt.name}.")


def top_levers(levers: pd.DataFrame | None, n: int = 6) -> pd.DataFrame:
    """The levers that save the most, one row per lever at its best option (savings > 0)."""
    if levers is None or levers.empty:
        return pd.DataFrame(columns=["lever", "option", "before usd", "after usd", "saves usd", "saves %"])
    cut = levers[levers["applies"] & (levers["change_usd"] < 0)].copy()
    if cut.empty:
        return pd.DataFrame(columns=["lever", "option", "before usd", "after usd", "saves usd", "saves %"])
    best = cut.sort_values("change_usd").groupby("lever", sort=False).head(1).head(n)
    return pd.DataFrame({"lever": best["lever"], "option": best["option"], "before usd": best["before_usd"],
                         "after usd": best["after_usd"], "saves usd": -best["change_usd"],
                         "saves %": -best["change_pct"]})


def warnings_list(result) -> list[str]:
    """Everything a reader should know before trusting the totals."""
    p = result.prices or {}
    out = [w.split("; source:")[0] for w in p.get("warnings", [])]
    for r in p.get("overridden", []):
        out.append(f"price supplied or changed by the user: {r['service']}/{r['name']}/{r['dimension']} = "
                   f"{r['usd']:.6g} (list {r['list_usd']:.6g}; {r['override']})")
    for o in result.options:
        if o.kind == "self_hosted" and o.details.get("throughput_source") == "params":
            out.append(f"{o.name}: throughput and batch are the params file's own figures, not modelled")
        if o.details.get("unserved_fraction", 0) > 0.001:
            out.append(f"{o.name}: {o.details['unserved_fraction']:.1%} of the requests are not served "
                       f"(the fleet lags the traffic)")
    return out


def summary_html(params, result, *, params_text: str, levers: pd.DataFrame | None = None,
                 params_name: str = "") -> str:
    """The whole page (see the module docstring)."""
    frame = result.to_frame()
    p = result.prices or {}
    used = pd.DataFrame(p.get("used", []))
    oldest = ""
    if not used.empty:
        row = used.sort_values("as_of").iloc[0]
        oldest = (f"The oldest price used is {row['service']}/{row['name']}/{row['dimension']} "
                  f"({row['usd']:.6g} USD per unit), as of {row['as_of']}, from {row['source']}.")
    w = result.workload
    workload = (f"{w['in_tokens']:g} input and {w['out_tokens']:g} output tokens a request, "
                f"{w['avg_rps']:g} requests/s on average ({w['traffic_shape']}; p95 "
                f"{w['p95_rps']:.3g}, peak {w['peak_rps']:.3g}), {w['requests_per_month']:,.0f} requests a month")
    bounds = w.get("latency") or {}
    said = ", ".join(f"{k.replace('_p95_ms', '')} p95 <= {v:g} ms" for k, v in bounds.items() if v is not None)
    warns = warnings_list(result)
    items = frame[["option", "category", "item", "quantity", "unit", "unit_usd", "monthly_usd", "source"]]
    sections = []
    sections.append(f"<h1>{_e(result.title)}</h1>")
    if getattr(params, "description", ""):
        sections.append(f'<p class="muted">{_e(params.description)}</p>')
    sections.append(f'<p class="muted">{_e(params_name)} · region {_e(result.region)} · prices in force on '
                    f'{_e(p.get("in_force_on") or "today")} · a month is 730 hours · USD</p>')
    sections.append('<nav><a href="#answer">answer</a><a href="#options">options</a>'
                    '<a href="#sure">how sure</a><a href="#moves">what moves it</a>'
                    '<a href="#flips">verdict flips</a><a href="#buying">buying</a><a href="#levers">levers</a>'
                    '<a href="#warnings">warnings</a><a href="#prices">prices</a><a href="#items">line items</a>'
                    '<a href="#params">params</a></nav>')
    sections.append(f'<h2 id="answer">The answer</h2><p class="answer">{_e(answer_sentence(result))}</p>')
    sections.append(f"<p>Workload: {_e(workload)}." + (f" Latency targets: {_e(said)}." if said else "") + "</p>")
    sections.append("<h3>What does each option cost a month, and what is the bill made of?</h3>")
    sections.append(svg_image(charts.monthly_cost_by_option(frame)))
    by_cat = frame.pivot_table(index="option", columns="category", values="monthly_usd", aggfunc="sum",
                               fill_value=0.0).reindex(columns=[c for c in charts.CATEGORY_COLORS
                                                                if c in set(frame["category"])])
    by_cat["total"] = by_cat.sum(axis=1)
    by_cat = by_cat.reset_index()
    sections.append(_table(by_cat, {c: ",.2f" for c in by_cat.columns if c != "option"}))
    sections.append('<h2 id="options">Every option</h2>')
    opts = options_frame(result)
    sections.append(_table(opts, {"monthly usd": ",.2f", "floor usd": ",.2f", "usd per request": ".6f",
                                  "usd per 1k tokens": ".6f", "sequences per instance": ",.1f",
                                  **{c: ".6f" for c in opts.columns if c.startswith("usd per ")
                                     and c not in ("usd per request", "usd per 1k tokens")}}))
    sections.append('<p class="muted">The floor is what an option costs in a month in which no request '
                    'arrives, with the capacity the params provision kept (NAT gateways, load balancers, '
                    'keys, the vector store\'s minimum, a fixed fleet\'s instances, an autoscaled fleet\'s '
                    'warm ones); the rest of the total scales with use.'
                    + (f" The cost per {_e(result.work_unit['name'])} is the part that scales with use "
                       f"divided by the {_e(result.work_unit['name'])}s a month "
                       f"({result.work_unit['units_per_month']:,.0f}); one {_e(result.work_unit['name'])} is "
                       f"{result.work_unit['requests_per_unit']:g} model requests."
                       if result.work_unit else "") + "</p>")
    binds = binding_lines(result)
    if binds:
        sections.append("<h3>What binds each self-hosted fleet?</h3>")
        sections.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in binds) + "</ul>")
        sections.append('<p class="muted">A fleet is sized for the load one instance can take at the latency '
                        'targets; two fleets cost the same when they round up to the same number of '
                        'instances.</p>')
    sections.append(uncertainty_section(params))
    sections.append(sensitivity_section(params, result))
    sections.append(flip_section(params, result))
    sections.append(buying_section(params))
    sections.append('<h2 id="levers">The largest levers</h2>')
    lv = top_levers(levers)
    if lv.empty:
        sections.append("<p>No lever lowers this bill.</p>")
    else:
        sections.append(_table(lv, {"before usd": ",.2f", "after usd": ",.2f", "saves usd": ",.2f", "saves %": ".1f"}))
        sections.append('<p class="muted">Each lever applied alone to the params file (lesson 04 says what '
                        'each assumes); savings do not add up.</p>')
    sections.append('<h2 id="warnings">Warnings</h2>')
    sections.append('<ul class="warn">' + "".join(f"<li>{_e(x)}</li>" for x in warns) + "</ul>" if warns
                    else "<p>None.</p>")
    sections.append('<h2 id="prices">Prices in force</h2>')
    sections.append(f"<p>{_e(len(used))} prices used, in force on {_e(p.get('in_force_on'))}. {_e(oldest)}</p>")
    sections.append('<h2 id="items">Every line item</h2>')
    for name, group in items.groupby("option", sort=False):
        sections.append(f"<h3>{_e(name)}</h3>")
        sections.append(_table(group.drop(columns="option"),
                               {"quantity": ",.2f", "unit_usd": ".6g", "monthly_usd": ",.2f"},
                               total={"item": "total", "monthly_usd": float(group["monthly_usd"].sum())}))
    sections.append(f'<h2 id="params">The params file</h2><pre>{_e(params_text)}</pre>')
    return html_page(result.title, sections)


def write_summary(folder: Path, params, result, *, params_path: Path, levers: pd.DataFrame | None = None) -> None:
    """Write ``report.html``, ``summary.json`` and ``line_items.csv`` into ``folder``."""
    folder = Path(folder)
    text = Path(params_path).read_text(encoding="utf-8")
    page = summary_html(params, result, params_text=text, levers=levers, params_name=Path(params_path).name)
    (folder / "report.html").write_text(page, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n",
                                         encoding="utf-8")
    result.to_frame().to_csv(folder / "line_items.csv", index=False, lineterminator="\n")
