"""The one-page report: the answer first, every line item, nothing fetched from anywhere.

Oracles: the estimate itself (the page must show its numbers, every one), and properties of a
self-contained page (no resource loaded from a remote address).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params
from costlib.core.paths import OUTPUTS_DIR, PARAMS_DIR
from costlib.lessons import summary

REMOTE = re.compile(r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
                    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""", re.I)
"""A resource the browser would fetch from elsewhere: a remote src (script, image, frame), a remote
style sheet or font link, CSS url() or @import. A link a reader may follow (``<a href>``, a cited
source) is not fetched and is allowed."""


@pytest.fixture(scope="module")
def default():
    params = load_params(PARAMS_DIR / "default.yaml")
    result = estimate(params)
    levers = pd.DataFrame([
        dict(lever="quantization", option="p5_vllm_llama31_70b", applies=True, before_usd=100.0,
             after_usd=60.0, change_usd=-40.0, change_pct=-40.0),
        dict(lever="output_caps", option="bedrock_llama31_70b", applies=True, before_usd=50.0,
             after_usd=45.0, change_usd=-5.0, change_pct=-10.0),
        dict(lever="kms", option="bedrock_llama31_70b", applies=False, before_usd=50.0,
             after_usd=50.0, change_usd=0.0, change_pct=0.0)])
    page = summary.summary_html(params, result, params_text=(PARAMS_DIR / "default.yaml").read_text(),
                                levers=levers, params_name="default.yaml")
    return params, result, page


def test_the_page_opens_with_the_cheapest_option_and_its_margin(default):
    _, result, page = default
    ranked = sorted(result.options, key=lambda o: o.monthly_usd)
    first = page.index('class="answer"')
    assert ranked[0].name in page[first:first + 400]
    gap = ranked[1].monthly_usd - ranked[0].monthly_usd
    assert f"{gap:,.2f} USD" in page[first:first + 600]


def test_every_line_item_of_every_option_is_on_the_page(default):
    _, result, page = default
    rows = result.to_frame()
    body = page[page.index('id="items"'):]
    assert body.count("<tr>") - body.count("<thead>") >= len(rows)
    for o in result.options:
        assert f"{o.monthly_usd:,.2f}" in body


def test_each_fleet_says_what_binds_it(default):
    _, result, page = default
    for o in result.options:
        if o.kind == "self_hosted":
            assert o.details["binding"] in page.replace("&lt;", "<").replace("&gt;", ">")


def test_levers_are_the_savings_largest_first(default):
    _, _, page = default
    lv = page[page.index('id="levers"'):page.index('id="warnings"')]
    assert lv.index("quantization") < lv.index("output_caps") and "kms" not in lv


def test_the_page_fetches_nothing(default):
    _, _, page = default
    assert not REMOTE.search(page)
    assert "<script" not in page and "<link" not in page
    assert 'src="data:image/svg+xml;base64,' in page


def test_write_summary_writes_the_contract_and_the_line_items(tmp_path, default):
    params, result, _ = default
    summary.write_summary(tmp_path, params, result, params_path=PARAMS_DIR / "default.yaml")
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(result.to_dict(),
                                                                                         default=str))
    items = pd.read_csv(tmp_path / "line_items.csv")
    assert len(items) == len(result.to_frame())
    assert items.groupby("option")["monthly_usd"].sum().to_dict() == pytest.approx(
        {o.name: o.monthly_usd for o in result.options})


@pytest.mark.parametrize("page", sorted(OUTPUTS_DIR.glob("*/*.html")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_html_fetches_nothing_and_runs_no_script(page: Path):
    text = page.read_text(encoding="utf-8")
    assert not REMOTE.search(text)
    assert "<script" not in text.lower()


def test_chapters_hide_code_and_open_with_contents():
    from costlib.cli.report import offline_html

    page = ('<html><head><script src="https://cdn.example/require.js"></script></head><body>'
            '<div class="jp-Cell"><h2 id="A">The model<a class="anchor-link" href="#A">¶</a></h2></div>'
            '<script type="application/vnd.jupyter.widget-view+json">{"model_id": "x"}</script></body></html>')
    out = offline_html(page)
    assert "<script" not in out and "costlib-widget-note" in out
    assert '<a href="#A">The model</a>' in out and out.index("costlib-toc") < out.index("jp-Cell")


def test_the_remote_resource_check_can_fail():
    assert REMOTE.search('<img src="https://cdn.example/x.svg">')
    assert REMOTE.search('<link rel="stylesheet" href="https://cdn.example/x.css">')
    assert not REMOTE.search('<a href="https://aws.amazon.com/ec2/pricing/">pricing</a>')
    assert REMOTE.search("<style>@import 'x.css'</style>")
    assert not REMOTE.search("<td>https://github.com/pydantic/genai-prices</td>")


def test_the_page_says_where_the_verdict_flips(default):
    from costlib.lessons import verdict

    params, result, page = default
    section = page[page.index('id="flips"'):page.index('id="levers"')]
    b = verdict.tie_breakeven(params, result)
    assert summary.FLIP_QUESTION in section
    assert summary._e(verdict.tie_sentence(b, result)) in section
    assert section.count('src="data:image/svg+xml;base64,') == 1
    assert '<a href="#flips">' in page and page.index('id="options"') < page.index('id="flips"')


def test_a_file_without_a_fleet_says_so_where_the_verdict_flips():
    params = load_params(PARAMS_DIR / "scenario_c_cached_rag.yaml")
    result = estimate(params)
    section = summary.flip_section(params, result)
    assert "no self-hosted option" in section and "<img" not in section
    assert not REMOTE.search(section)


def test_the_page_shows_every_options_p10_p50_p90_from_the_monte_carlo(default):
    """The bands' table holds the Monte Carlo's own percentiles (the same seeded draws)."""
    from costlib.whatif.uncertainty import monte_carlo

    params, _, page = default
    mc = monte_carlo(params)
    section = page[page.index('<h2 id="sure">'):page.index('<h2 id="moves">')]
    assert "<svg" in section or "data:image/svg+xml" in section
    for name in mc.options:
        for value in (mc.p10_usd[name], mc.p50_usd[name], mc.p90_usd[name]):
            assert f"{value:,.0f}" in section
    for key in mc.distributions:
        assert key in section


def test_a_file_of_plain_numbers_says_how_to_give_a_distribution():
    params = load_params(PARAMS_DIR / "rag_plumbing.yaml")
    section = summary.uncertainty_section(params)
    assert "single number" in section and "Uncertain inputs" in section and "<svg" not in section


def test_the_page_shows_the_tornado_of_the_cheapest_option(default):
    """The three largest swings of the cheapest option, as the tornado computed them."""
    from costlib.whatif.sensitivity import tornado

    params, result, page = default
    section = page[page.index('<h2 id="moves">'):page.index('<h2 id="flips">')]
    top = tornado(params).top(result.cheapest, 3)
    for r in top.itertuples():
        assert f"{r.swing_usd:,.0f}" in section


def test_the_options_table_shows_the_floor_and_the_cost_per_unit():
    params = load_params(PARAMS_DIR / "scenario_c_cached_rag.yaml")
    result = estimate(params)
    frame = summary.options_frame(result)
    assert "usd per assistant conversation" in frame.columns
    for o, row in zip(result.options, frame.itertuples(index=False)):
        assert row[frame.columns.get_loc("floor usd")] == o.floor_usd
        assert row[frame.columns.get_loc("usd per assistant conversation")] == o.usd_per_unit


def test_the_page_shows_each_options_cheapest_other_way_of_buying():
    """Each row's cheapest way is the lowest priced row of lesson 10's tables for that option,
    and it never costs more than the way the file buys it."""
    from costlib.lessons import buying

    params = load_params(PARAMS_DIR / "scenario_b_steady.yaml")
    frame = summary.buying_frame(params)
    fleets, tiers = buying.fleet_table(params), buying.tier_table(params)
    for row in frame.itertuples(index=False):
        source = fleets if row.option in set(fleets["option"]) else tiers
        col = "option usd" if source is fleets else "monthly usd"
        assert row[3] == pytest.approx(source[source["option"] == row.option][col].min(), rel=1e-12)
        assert row[3] <= row[1]
    section = summary.buying_section(params)
    assert 'id="buying"' in section and "not priced here" in section
