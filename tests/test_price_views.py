"""Tests of costlib.tables.history (views of the price tables) and costlib.lessons.prices (the
lesson on prices, notebook 01): tables, charts and controls.

Oracles are hand calculations from rows of costlib/data/prices/*.csv (quoted in comments), from
the committed Price List fixture, or properties (sums, linearity). The package's price tables are
never written: tests that could write check the files' bytes before and after.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from datetime import date

import numpy as np
import pandas as pd
import pytest

from costlib.lessons import charts as C
from costlib.lessons import prices as V
from costlib.tables import history as H
from costlib.core.errors import CostlibError
from costlib.bill.estimate import estimate
from costlib.bill.params import load_params
from costlib.core.paths import TESTS_DIR
from costlib.tables.prices import PRICES_DIR, PriceSettings, load_price_book, load_tables, read_price_csv

FIXTURES = TESTS_DIR / "fixtures" / "pricelist"
OFFER = FIXTURES / "amazonec2_us-east-1_us-west-2_excerpt.json"
BAD_OFFER = FIXTURES / "bad_offer_non_numeric_price.json"
ON = date(2026, 11, 27)

HEADER = "service,name,dimension,region,unit,usd,tier_start,tier_end,effective_from,effective_to,source,as_of,notes\n"

PARAMS = """\
title: price views test
region: us-east-1
prices:
  as_of: 2026-11-27
workload:
  in_tokens: 1500
  out_tokens: 300
  avg_rps: 10
  p95_rps: 10
  p95_latency_ms: 1000
options:
  bedrock_llama31_70b:
    kind: managed_api
    model: meta.llama3-1-70b-instruct-v1:0
  p5_llama31_70b:
    kind: self_hosted
    platform: eks
    instance: p5.48xlarge
    model: llama-3.1-70b
    batch_size: 16
    tokens_per_second_per_instance: 1117.6
"""


def _tables_bytes() -> dict:
    return {p.name: p.read_bytes() for p in sorted(PRICES_DIR.glob("*.csv"))}


def _csv(tmp_path, body: str, name: str = "t.csv") -> pd.DataFrame:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return read_price_csv(path, origin=f"costlib/data/prices/{name}")


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    path = tmp_path_factory.mktemp("params") / "p.yaml"
    path.write_text(PARAMS)
    return load_params(path)


@pytest.fixture(scope="module")
def result(params):
    return estimate(params)


@pytest.fixture(scope="module")
def book():
    return load_price_book(PriceSettings(as_of=ON))


# --- formulas --------------------------------------------------------------------------------


def test_pct_change_p5_cut():
    # ec2.csv p5.48xlarge us-east-1: 98.32 (Karpenter 2025-04-28) -> 55.04 (from 2025-06-23)
    # (55.04 - 98.32) / 98.32 * 100 = -43.28 / 98.32 * 100 = -44.0195...
    assert H.pct_change(98.32, 55.04) == pytest.approx(-44.0195, abs=1e-4)


def test_pct_change_vectorised():
    # (5 - 10) / 10 = -50 %; (5 - 4) / 4 = +25 %; a scalar and an array give the same numbers
    out = H.pct_change(np.array([10.0, 4.0]), np.array([5.0, 5.0]))
    assert out.tolist() == [-50.0, 25.0]
    assert H.pct_change(4.0, 5.0) == out[1]


def test_age_days_hand_count():
    # 2024-07-01 -> 2026-07-01 = 365 + 365 = 730; July 1 -> Nov 1 = 31 + 31 + 30 + 31 = 123;
    # Nov 1 -> Nov 27 = 26; total 879 days
    assert H.age_days(date(2024, 7, 1), ON) == 879
    # 2026-07-20 -> 2026-11-27: 11 (rest of July) + 31 + 30 + 31 + 27 = 130
    assert H.age_days([date(2026, 7, 20), date(2024, 7, 1)], ON).tolist() == [130, 879]


def test_table_label_names():
    assert H.table_label("costlib/data/prices/ec2.csv") == "ec2"
    assert H.table_label("genai-prices 0.2.3") == "bedrock (genai-prices)"
    assert H.table_label("overrides file mine.csv") == "override file"


# --- provenance of one estimate -------------------------------------------------------------------


def test_used_prices_p5_row_source_and_age(result):
    used = V.used_prices(result, max_age_days=400)
    p5 = used[(used["service"] == "ec2") & (used["name"] == "p5.48xlarge")].iloc[0]
    # ec2.csv: p5.48xlarge us-east-1 55.04 from 2025-06-23, Karpenter table generated 2026-07-20
    assert p5["usd"] == 55.04
    assert p5["as_of"] == date(2026, 7, 20)
    assert p5["age_days"] == 130  # see test_age_days_hand_count
    assert not p5["older_than_limit"]
    assert "karpenter-provider-aws" in p5["source"]
    # every used row has a source and an as-of date, sorted oldest first
    assert used["source"].str.len().min() > 0
    assert list(used["as_of"]) == sorted(used["as_of"])


def test_used_prices_limit_flags_rows_older_than_limit(result):
    used = V.used_prices(result, max_age_days=400)
    assert (used["older_than_limit"] == (used["age_days"] > 400)).all()
    # a limit above the oldest age flags nothing; a limit of -1 flags every row
    assert not V.used_prices(result, max_age_days=int(used["age_days"].max())).older_than_limit.any()
    assert V.used_prices(result, max_age_days=-1).older_than_limit.all()


# --- how old are the tables ----------------------------------------------------------------------


def test_rows_by_year_counts(tmp_path):
    a = _csv(tmp_path, """\
        ec2,a,on_demand,us-east-1,usd_per_hour,1,,,,,https://example.org/a,2024-01-01,
        ec2,b,on_demand,us-east-1,usd_per_hour,1,,,,,https://example.org/a,2024-06-01,
        ec2,c,on_demand,us-east-1,usd_per_hour,1,,,,,https://example.org/a,2025-06-01,
        """, "ec2.csv")
    b = _csv(tmp_path, """\
        nat_gateway,nat,hour,us-east-1,usd_per_hour,0.045,,,,,https://example.org/b,2025-01-01,
        """, "network.csv")
    out = H.rows_by_year(pd.concat([a, b], ignore_index=True))
    # ec2: 2 rows in 2024, 1 in 2025; network: 1 in 2025
    got = {(r.table, r.as_of_year): r.rows for r in out.itertuples()}
    assert got == {("ec2", 2024): 2, ("ec2", 2025): 1, ("network", 2025): 1}


def test_rows_by_year_sums_to_rows_in_force(book):
    assert H.rows_by_year(book)["rows"].sum() == len(book.table())


def test_age_summary_hand_counts(tmp_path):
    t = _csv(tmp_path, """\
        ec2,a,on_demand,us-east-1,usd_per_hour,1,,,,,https://example.org/a,2025-01-01,
        ec2,b,on_demand,us-east-1,usd_per_hour,1,,,,,https://example.org/a,2025-12-31,
        """, "ec2.csv")
    out = H.age_summary(t, on=date(2026, 1, 1), max_age_days=100).iloc[0]
    # ages: 2025-01-01 -> 2026-01-01 = 365 days; 2025-12-31 -> 1 day; median (365 + 1) / 2 = 183
    assert out["rows"] == 2 and out["median_age_days"] == 183
    assert out["older_than_limit"] == 1 and out["share_older_pct"] == 50.0
    assert out["oldest_as_of"] == date(2025, 1, 1) and out["newest_as_of"] == date(2025, 12, 31)


def test_genai_asof_summary_counts_every_row():
    from costlib.core.paths import GENAI_ASOF_CSV

    raw = pd.read_csv(GENAI_ASOF_CSV, dtype=str)
    out = H.genai_asof_summary()
    assert out["prices"].sum() == len(raw)
    assert set(out["basis"]) == set(raw["basis"])
    assert (out["earliest_as_of"] <= out["latest_as_of"]).all()


def test_bedrock_sources_account_for_every_bedrock_row(book):
    t = book.table()
    out = H.bedrock_sources(book)
    assert out["rows"].sum() == (t["service"] == "bedrock").sum()
    assert set(out["table"]) == {"bedrock", "bedrock (genai-prices)"}


# --- prices that changed ----------------------------------------------------------------------


def test_gpu_price_cut_hand_percentages():
    cut = H.gpu_price_cut().set_index("instance")
    # ec2.csv us-east-1 on demand, before (Karpenter 2025-04-28) -> after (from 2025-06-23):
    # p4d.24xlarge  32.7726  -> 21.957642: 10.814958 / 32.7726 = 33.00 %
    # p4de.24xlarge 40.96575 -> 27.44705 : 13.5187   / 40.96575 = 33.00 %
    # p5.48xlarge   98.32    -> 55.04    : 43.28     / 98.32    = 44.02 %
    # p5en.48xlarge 84.8     -> 63.296   : 21.504    / 84.8     = 25.36 %
    assert list(cut.index) == ["p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "p5en.48xlarge"]
    assert cut["cut_pct"].round(2).to_dict() == {
        "p4d.24xlarge": 33.00, "p4de.24xlarge": 33.00, "p5.48xlarge": 44.02, "p5en.48xlarge": 25.36}
    p5 = cut.loc["p5.48xlarge"]
    assert (p5["before_usd_per_hour"], p5["after_usd_per_hour"]) == (98.32, 55.04)
    assert p5["before_as_of"] == date(2025, 4, 28) and p5["changed_on"] == date(2025, 6, 23)
    assert p5["after_as_of"] == date(2026, 7, 20)


def test_gpu_price_cut_other_region_has_no_history():
    # us-west-2 rows (SkyPilot catalog) carry only the post-cut price: no change recorded there
    assert H.gpu_price_cut(region="us-west-2").empty


def test_price_changes_pairs_only_windows_that_meet(tmp_path):
    t = _csv(tmp_path, """\
        ec2,a,on_demand,us-east-1,usd_per_hour,10,,,,2025-06-01,https://example.org/a,2025-01-01,
        ec2,a,on_demand,us-east-1,usd_per_hour,8,,,2025-06-01,,https://example.org/b,2025-07-01,
        ec2,b,on_demand,us-east-1,usd_per_hour,4,,,,2025-01-01,https://example.org/a,2024-12-01,
        ec2,b,on_demand,us-east-1,usd_per_hour,5,,,2025-02-01,,https://example.org/b,2025-02-01,
        ec2,a,on_demand,us-west-2,usd_per_hour,10,,,,,https://example.org/a,2025-01-01,
        """, "ec2.csv")
    out = H.price_changes(t)
    # only a/us-east-1 changed (10 -> 8: -20 %); b has a gap between its windows, a/us-west-2 one row
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["name"], row["region"], row["before_usd"], row["after_usd"]) == ("a", "us-east-1", 10.0, 8.0)
    assert row["changed_on"] == date(2025, 6, 1) and row["change_pct"] == pytest.approx(-20.0)


def test_price_changes_claude_35_sonnet_v2_doubled():
    ch = H.price_changes(service="bedrock")
    ch = ch[ch["name"] == "anthropic.claude-3-5-sonnet-20241022-v2:0"].set_index("dimension")
    # bedrock.csv: input 3 -> 6 and output 15 -> 30 from 2025-12-01: (6 - 3) / 3 = +100 %
    assert ch.loc["input", "before_usd"] == 3 and ch.loc["input", "after_usd"] == 6
    assert ch.loc["output", "before_usd"] == 15 and ch.loc["output", "after_usd"] == 30
    assert (ch["change_pct"] == 100.0).all() and (ch["changed_on"] == date(2025, 12, 1)).all()


# --- regions ----------------------------------------------------------------------------------------


def test_region_comparison_hand_difference(tmp_path):
    t = _csv(tmp_path, """\
        ec2,x.large,on_demand,us-east-1,usd_per_hour,2,,,,,https://example.org/a,2025-01-01,
        ec2,x.large,on_demand,us-west-2,usd_per_hour,2.5,,,,,https://example.org/b,2025-03-01,
        ec2,y.large,on_demand,us-east-1,usd_per_hour,3,,,,,https://example.org/a,2025-01-01,
        """, "ec2.csv")
    out = H.region_comparison(t)
    # only x.large is priced in both; (2.5 - 2) / 2 = +25 %
    assert list(out["name"]) == ["x.large"]
    row = out.iloc[0]
    assert (row["usd_us-east-1"], row["usd_us-west-2"], row["difference_pct"]) == (2.0, 2.5, 25.0)
    assert row["as_of_us-west-2"] == date(2025, 3, 1)


def test_region_comparison_real_tables_p5(book):
    out = H.region_comparison(book).set_index("name")
    # ec2.csv: p5.48xlarge 55.04 in us-east-1 (Karpenter) and 55.04 in us-west-2 (SkyPilot): 0 %
    assert out.loc["p5.48xlarge", "usd_us-east-1"] == 55.04
    assert out.loc["p5.48xlarge", "usd_us-west-2"] == 55.04
    assert out.loc["p5.48xlarge", "difference_pct"] == 0.0
    # every name compared has a price in both regions
    assert out[["usd_us-east-1", "usd_us-west-2"]].notna().all().all()


def test_region_comparison_unknown_region_names_closest(book):
    with pytest.raises(CostlibError, match=r"unknown region 'us-west-9'.*us-west-2"):
        H.region_comparison(book, regions=("us-east-1", "us-west-9"))


# --- discounts and overrides -------------------------------------------------------------------------


def test_discount_effect_rows_and_linearity(params):
    ten = V.discount_effect(params, {"ec2": 10})
    thirty = V.discount_effect(params, {"ec2": 30, "bedrock": 10})
    over = thirty.overridden.set_index(["service", "dimension"])
    # p5.48xlarge 55.04 * (1 - 0.30) = 38.528; Llama 3.1 70B 0.72 * (1 - 0.10) = 0.648
    assert over.loc[("ec2", "on_demand"), "usd"] == pytest.approx(38.528)
    assert over.loc[("ec2", "on_demand"), "list_usd"] == 55.04
    assert over.loc[("bedrock", "input"), "usd"] == pytest.approx(0.648)
    assert set(over["override"]) == {"30% discount", "10% discount"}
    # the self-hosted bill is linear in the EC2 price: 30 % off saves 3x what 10 % off saves
    t10 = ten.totals.set_index("option")
    t30 = thirty.totals.set_index("option")
    assert t30.loc["p5_llama31_70b", "change_usd_per_month"] == pytest.approx(
        3 * t10.loc["p5_llama31_70b", "change_usd_per_month"])
    # an EC2 discount leaves the managed option alone
    assert t10.loc["bedrock_llama31_70b", "change_usd_per_month"] == 0.0
    assert (t30["change_usd_per_month"] < 0).all()


def test_pinned_rows_put_back_the_precut_p5_price(params):
    rows = V.pinned_rows(params, date(2025, 5, 1))
    # on 2025-05-01 the p5.48xlarge row in force is the pre-cut 98.32 (as of 2025-04-28)
    p5 = rows[(rows["service"] == "ec2") & (rows["name"] == "p5.48xlarge")].iloc[0]
    assert p5["usd"] == 98.32 and p5["as_of"] == date(2025, 4, 28)
    assert p5["effective_from"] is None and p5["effective_to"] is None
    # the Bedrock Llama price did not change: nothing pinned for it
    assert not (rows["service"] == "bedrock").any()


def test_override_effect_hand_change_and_tables_untouched(params, result, tmp_path):
    before = _tables_bytes()
    rows = V.pinned_rows(params, date(2025, 5, 1))
    effect = V.override_effect(params, rows, tmp_path)
    assert _tables_bytes() == before
    assert (tmp_path / "overrides.csv").is_file()
    item = next(li for o in result.options if o.name == "p5_llama31_70b" for li in o.line_items
                if li.unit_usd == 55.04)
    # every instance-hour now costs 98.32 instead of 55.04: change = hours * 43.28
    totals = effect.totals.set_index("option")
    assert totals.loc["p5_llama31_70b", "change_usd_per_month"] == pytest.approx(item.quantity * 43.28)
    assert totals.loc["bedrock_llama31_70b", "change_usd_per_month"] == 0.0
    over = effect.overridden.iloc[0]
    assert over["override"] == "override file overrides.csv" and over["usd"] == 98.32
    # the price it replaced is the one in force on the params date, not the older window's
    assert over["list_usd"] == 55.04


def test_write_override_file_round_trips(tmp_path):
    t = _csv(tmp_path, """\
        s3,standard,storage,us-east-1,usd_per_gb_month,0.023,0,51200,,,https://example.org/s,2025-07-07,first tier
        s3,standard,storage,us-east-1,usd_per_gb_month,0.022,51200,,,,https://example.org/s,2025-07-07,next tier
        """)
    back = read_price_csv(H.write_override_file(t, tmp_path / "o.csv"))
    cols = ["service", "name", "dimension", "usd", "tier_start", "tier_end", "as_of", "source", "notes"]
    assert back[cols].equals(t[cols])
    assert math.isinf(back["tier_end"].iloc[1])


# --- Bedrock per-token prices --------------------------------------------------------------------------


def test_bedrock_token_prices_llama_and_batch_half(book):
    models = ["meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-405b-instruct-v1:0"]
    wide = H.bedrock_token_prices_wide(H.bedrock_token_prices(book, models)).set_index("model")
    # fact sheet / genai-prices 0.2.3: Llama 3.1 70B 0.72 / 0.72; bedrock.csv: 405B 2.40 / 2.40
    assert wide.loc[models[0], ["input", "output"]].tolist() == [0.72, 0.72]
    assert wide.loc[models[1], ["input", "output"]].tolist() == [2.4, 2.4]
    # bedrock.csv batch rows: 0.36 and 1.20, half of on demand (0.72 / 2, 2.40 / 2)
    assert (wide["batch_input"] == wide["input"] / 2).all()
    assert (wide["batch_output"] == wide["output"] / 2).all()
    # Llama has no prompt-cache price: a gap, not a zero
    assert wide["cache_read"].isna().all()


def test_bedrock_token_prices_wide_missing_marker(book):
    long = H.bedrock_token_prices(book, ["meta.llama3-1-70b-instruct-v1:0"])
    wide = H.bedrock_token_prices_wide(long, missing="not priced")
    assert wide.loc[0, "cache_write"] == "not priced" and wide.loc[0, "input"] == 0.72


def test_bedrock_token_prices_unknown_model_names_closest(book):
    with pytest.raises(CostlibError, match=r"unknown Bedrock model.*closest valid: meta\.llama3-1-70b"):
        H.bedrock_token_prices(book, ["meta.llama3-1-70b-instruct"])


def test_lesson_bedrock_models_adds_the_params_models(params, book):
    models = V.lesson_bedrock_models(params, book)
    assert "meta.llama3-1-70b-instruct-v1:0" in models
    assert len(models) == len(set(models))


# --- what is not in the tables --------------------------------------------------------------------------


def test_not_in_tables_lists_computed_gaps(book):
    out = H.not_in_tables(book)
    items = set(out["item"])
    # instances.csv has p5e.48xlarge, ec2.csv has no us-east-1 price for it
    assert "EC2 p5e.48xlarge on demand" in items
    # sagemaker.csv ml.p4d / ml.p5 rows end 2025-06-23 with no newer row
    assert "sagemaker ml.p4d.24xlarge on_demand" in items
    assert "sagemaker ml.p5.48xlarge on_demand" in items
    assert out["why"].str.len().min() > 0


def test_not_in_tables_gap_closes_when_a_row_is_added(tmp_path):
    for p in PRICES_DIR.glob("*.csv"):
        shutil.copy(p, tmp_path / p.name)
    with open(tmp_path / "ec2.csv", "a") as f:
        f.write("ec2,p5e.48xlarge,on_demand,us-east-1,usd_per_hour,1,,,,,https://example.org/test,2026-01-01,test\n")
    book = load_price_book(PriceSettings(as_of=ON), tables_dir=tmp_path)
    items = set(H.not_in_tables(book, rows=load_tables(tmp_path))["item"])
    assert "EC2 p5e.48xlarge on demand" not in items
    assert "sagemaker ml.p5.48xlarge on_demand" in items


# --- refresh preview ---------------------------------------------------------------------------------


def test_refresh_preview_reads_fixture_and_writes_nothing():
    before = _tables_bytes()
    parsed, changes, summary = H.refresh_preview(OFFER)
    assert _tables_bytes() == before
    # read by hand from the fixture: publicationDate 2026-07-20; p4d.24xlarge us-east-1 21.957642,
    # g5.xlarge 1.006 in us-east-1 and us-west-2, gp3 storage 0.08 per GB-month
    got = {(r.service, r.name, r.region): r.usd for r in parsed.itertuples()}
    assert got == {("ec2", "p4d.24xlarge", "us-east-1"): 21.957642, ("ec2", "g5.xlarge", "us-east-1"): 1.006,
                   ("ec2", "g5.xlarge", "us-west-2"): 1.006, ("ebs", "gp3", "us-east-1"): 0.08}
    assert set(parsed["as_of"]) == {date(2026, 7, 20)}
    # the tables hold the same four prices: all confirmed, none changed
    assert (summary["matched"], summary["confirmed"], summary["changed"]) == (4, 4, 0)
    assert summary["files"] == ["compute.csv", "ec2.csv"]
    assert len(changes) == 4 and changes["change"].str.contains("confirmed").all()


def test_refresh_error_bad_offer_is_one_relative_line():
    before = _tables_bytes()
    msg = H.refresh_error(BAD_OFFER)
    assert _tables_bytes() == before
    assert msg.startswith("tests/fixtures/pricelist/bad_offer_non_numeric_price.json")
    assert "no numeric USD price" in msg and "\n" not in msg
    assert H.refresh_error(OFFER) == ""


# --- charts ---------------------------------------------------------------------------------------------


def _titles(spec: dict) -> list[str]:
    enc = spec.get("encoding", {})
    return [enc[c]["title"] for c in ("x", "y") if c in enc and enc[c].get("title")]


def _rows(spec: dict) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


def test_charts_lowercase_titles_with_units_and_small_data(book, params):
    cut = H.gpu_price_cut()
    comp = H.region_comparison(book)
    long = H.bedrock_token_prices(book)
    effect = V.discount_effect(params, {"ec2": 10})
    totals = effect.totals
    charts = {
        "age": V.age_chart(book),
        "cut": V.price_cut_chart(cut),
        "region": V.region_chart(comp),
        "before_after": V.discount_chart(effect),
        "bedrock": V.bedrock_prices_chart(long),
        "age (charts)": C.age_chart(H.rows_by_year(book)),
    }
    for name, chart in charts.items():
        spec = chart.to_dict()
        json.dumps(spec)  # the svg renderer needs plain JSON (no date objects)
        titles = _titles(spec)
        assert titles, name
        assert all(t == t.lower() for t in titles), (name, titles)
        assert 0 < _rows(spec) < 5000, name
    # units in the value axes
    assert "usd" in charts["cut"].to_dict()["encoding"]["x"]["title"]
    assert "usd per 1m tokens" in charts["bedrock"].to_dict()["encoding"]["x"]["title"]
    # before and after for each instance of the cut: 2 x 4 rows
    assert _rows(charts["cut"].to_dict()) == 2 * len(cut)
    assert _rows(charts["before_after"].to_dict()) == 2 * len(totals)


# --- try it -------------------------------------------------------------------------------------------


def test_price_explorer_slider_matches_discount_effect(params):
    ex = V.price_explorer(params)
    assert set(ex.controls) == {"bedrock", "ec2", "as_of"}
    ex.controls["ec2"].value = 50.0
    expected = V.discount_effect(params, {"ec2": 50}).totals.set_index("option")
    got = ex.totals.set_index("option")
    assert got["after_usd"].to_dict() == pytest.approx(expected["after_usd_per_month"].to_dict())
    assert "cannot price" not in ex.output.value


def test_price_explorer_date_before_the_cut_raises_the_gpu_bill(params):
    ex = V.price_explorer(params)
    days = [value for _, value in ex.controls["as_of"].options]
    # the day before the cut was first seen (2025-06-23) is offered, and the params date
    assert date(2025, 6, 22) in days and ON in days
    ex.controls["as_of"].value = date(2025, 6, 22)
    t = ex.totals.set_index("option")
    # 98.32 instead of 55.04 per instance-hour: the self-hosted bill goes up
    assert t.loc["p5_llama31_70b", "change_usd"] > 0


# --- helpers for the lesson -----------------------------------------------------------------------


def test_change_summary_one_line_per_name_and_day(tmp_path):
    t = _csv(tmp_path, """\
        bedrock,m,input,us-east-1,usd_per_1m_tokens,3,,,,2025-12-01,https://example.org/a,2025-07-20,
        bedrock,m,input,us-east-1,usd_per_1m_tokens,6,,,2025-12-01,,https://example.org/b,2026-07-04,
        bedrock,m,output,us-east-1,usd_per_1m_tokens,15,,,,2025-12-01,https://example.org/a,2025-07-20,
        bedrock,m,output,us-east-1,usd_per_1m_tokens,18,,,2025-12-01,,https://example.org/b,2026-07-04,
        """, "bedrock.csv")
    out = H.change_summary(H.price_changes(t))
    # input 3 -> 6: +100 %; output 15 -> 18: (18 - 15) / 15 = +20 %
    assert len(out) == 1
    row = out.iloc[0]
    assert row["dimensions"] == 2 and row["min_change_pct"] == pytest.approx(20.0)
    assert row["max_change_pct"] == pytest.approx(100.0)


def test_history_p5_two_windows():
    h = H.history("ec2", "p5.48xlarge", "on_demand", region="us-east-1")
    # ec2.csv: 98.32 until 2025-06-23, then 55.04 from 2025-06-23 (open)
    assert h["usd"].tolist() == [98.32, 55.04]
    assert h["effective_to"].iloc[0] == date(2025, 6, 23) and h["effective_from"].iloc[1] == date(2025, 6, 23)
    assert pd.isna(h["effective_to"].iloc[1])


def test_history_unknown_name_names_closest():
    with pytest.raises(CostlibError, match=r"unknown name 'p5.48xl'.*p5\.48xlarge"):
        H.history("ec2", "p5.48xl", "on_demand")


def test_example_discounts_only_used_services(result):
    # the test params use Bedrock and EC2 (p5), not SageMaker
    assert V.example_discounts(result) == {"bedrock": 20.0, "ec2": 20.0}
