"""Tests of costlib.tables.prices: the tables, the genai-prices import, look-ups, overrides, the CLI.

Expected figures are typed in from the sources named on the price rows (cited per test).
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from costlib.tables import hardware as H
from costlib.tables import prices as P
from costlib.tables.genai import GENAI_PRICES_VERSION
from costlib.core.errors import CostlibError
from costlib.cli.prices import main as cli_main

TODAY = date(2026, 11, 27)  # fixed so the June-2025 windows and age warnings are reproducible


@pytest.fixture(scope="module")
def book():
    return P.load_price_book(P.PriceSettings(as_of=TODAY))


def _book(**kw):
    kw.setdefault("as_of", TODAY)
    return P.load_price_book(P.PriceSettings(**kw))


HEADER = "service,name,dimension,region,unit,usd,tier_start,tier_end,effective_from,effective_to,source,as_of,notes\n"


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


# --- every row carries provenance; the tables are well formed ----------------------------------


def test_every_row_has_source_and_as_of(book):
    """Done-when: a test fails on any row without a source and an as-of date (tables and imports)."""
    every = book._all
    assert len(every) > 600
    blank_source = every["source"].map(lambda s: not str(s).strip())
    bad_as_of = every["as_of"].map(lambda d: not isinstance(d, date))
    assert not blank_source.any(), every.loc[blank_source, ["service", "name", "dimension"]]
    assert not bad_as_of.any(), every.loc[bad_as_of, ["service", "name", "dimension"]]


def test_tables_units_prices_and_keys_are_valid(book):
    every = book._all
    assert set(every["unit"]) <= set(P.UNITS)
    assert np.isfinite(every["usd"]).all() and (every["usd"] >= 0).all()
    P.check_prices(every)  # duplicate keys / overlapping windows / broken tiers raise


def test_each_table_file_loads_on_its_own():
    files = P.table_files()
    assert {f.name for f in files} >= {
        "bedrock.csv", "ec2.csv", "sagemaker.csv", "network.csv", "observability.csv",
        "security.csv", "datastores.csv", "compute.csv",
    }  # fmt: skip
    for f in files:
        assert not P.read_price_csv(f).empty


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("ec2,x,on_demand,us-east-1,usd_per_hour,1,,,,,,2026-01-01,\n", "source is empty"),
        ("ec2,x,on_demand,us-east-1,usd_per_hour,1,,,,,src,,\n", "as_of is empty"),
        ("ec2,x,on_demand,us-east-1,usd_per_hour,1,,,,,src,01/02/2026,\n", "not an ISO date"),
        ("ec2,x,on_demand,us-east-1,usd_per_hour,-1,,,,,src,2026-01-01,\n", "non-negative"),
        ("ec2,x,on_demand,us-east-1,usd_per_hour,nan,,,,,src,2026-01-01,\n", "non-negative"),
        ("ec2,x,on_demand,us-east-1,usd_per_hour,inf,,,,,src,2026-01-01,\n", "non-negative"),
        ("ec2,x,on_demand,us-east-1,usd_per_hours,1,,,,,src,2026-01-01,\n", "closest valid: usd_per_hour"),
        ("ec2,x,on_demand,us-east-1,usd_per_hour,1,,,,,src,2026-01-01,\n" * 2, "duplicate price key ec2/x/on_demand"),
        ("ec2,x,on_demand,us-east-1,usd_per_hour,1,,,,2025-06-23,src,2026-01-01,\n"
         "ec2,x,on_demand,us-east-1,usd_per_hour,2,,,2025-06-01,,src,2026-01-01,\n", "overlaps"),
        ("s3,x,storage,us-east-1,usd_per_gb_month,1,0,10,,,src,2026-01-01,\n"
         "s3,x,storage,us-east-1,usd_per_gb_month,1,20,,,,src,2026-01-01,\n", "join up"),
    ],
)
def test_read_price_csv_rejects_bad_rows(tmp_path, body, match):
    with pytest.raises(CostlibError, match=match):
        P.read_price_csv(_write(tmp_path, body))


def test_read_price_csv_rejects_missing_and_unknown_columns(tmp_path):
    with pytest.raises(CostlibError, match="missing column"):
        P.read_price_csv(_write(tmp_path, "ec2,x,on_demand\n", header="service,name,dimension\n"))
    with pytest.raises(CostlibError, match="unknown column"):
        P.read_price_csv(_write(tmp_path, "", header=HEADER.strip() + ",price\n"))


def test_read_price_csv_accepts_a_closed_window_followed_by_a_new_price(tmp_path):
    df = P.read_price_csv(_write(
        tmp_path,
        "ec2,x,on_demand,us-east-1,usd_per_hour,2,,,,2025-06-23,src,2025-04-28,old\n"
        "ec2,x,on_demand,us-east-1,usd_per_hour,1,,,2025-06-23,,src,2026-07-20,new\n",
    ))  # fmt: skip
    assert list(df["usd"]) == [2.0, 1.0]


# --- Bedrock: the genai-prices import and the fact sheet ------------------------------------------


def test_genai_import_takes_every_price_of_the_pinned_snapshot(book):
    from importlib.metadata import version

    assert version("genai_prices") == GENAI_PRICES_VERSION
    assert book.skipped == []
    imported = book._all[book._all["origin"].str.startswith("genai-prices")]
    assert len(imported) > 450


def test_bedrock_llama_prices_match_the_fact_sheet(book):
    # aws-prices-inference.md 1b: Llama 3.1 70B 0.72/0.72 (CONVO 2025-07-20; LiteLLM's 0.99 is stale),
    # 405B 2.40/2.40 (CONVO; not in genai-prices 0.2.3, so from bedrock.csv), 8B 0.22, 3.3 70B 0.72.
    for name, inp, out in [
        ("meta.llama3-1-70b-instruct-v1:0", 0.72, 0.72),
        ("meta.llama3-1-405b-instruct-v1:0", 2.40, 2.40),
        ("meta.llama3-1-8b-instruct-v1:0", 0.22, 0.22),
        ("meta.llama3-3-70b-instruct-v1:0", 0.72, 0.72),
        ("meta.llama4-maverick-17b-instruct-v1:0", 0.24, 0.97),
    ]:
        assert_allclose([book.usd("bedrock", name, "input"), book.usd("bedrock", name, "output")], [inp, out])
    assert book.row("bedrock", "meta.llama3-1-70b-instruct-v1:0", "input")["source"].startswith(
        "https://github.com/pydantic/genai-prices/"
    )


def test_bedrock_claude_and_nova_prices(book):
    # 1a: Sonnet 4.5 global 3/15, in-region 3.30/16.50 (+10%); cache 3.75/0.30. 1c: Nova Pro 0.80/3.20, cache read 0.20.
    assert book.usd("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "input") == 3.0
    assert book.usd("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "input") == 3.3
    assert book.usd("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "output") == 16.5
    assert book.usd("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "cache_write") == 3.75
    assert book.usd("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "cache_read") == 0.3
    assert_allclose([book.usd("bedrock", "amazon.nova-pro-v1:0", d) for d in ("input", "output", "cache_read")],
                    [0.8, 3.2, 0.2])  # fmt: skip
    assert book.usd("bedrock", "amazon.nova-pro-v1:0", "batch_input") == 0.4


def test_claude_35_sonnet_v2_extended_access_supersedes_genai_prices():
    # 1a: 3/15 until 2025-12-01 (CONVO), 6/30 from 2025-12-01 (Helicone PR 5709); genai-prices 0.2.3 says 3/15.
    name = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert _book(as_of=date(2025, 11, 30)).usd("bedrock", name, "input") == 3.0
    now = _book()
    assert now.usd("bedrock", name, "input") == 6.0
    assert now.usd("bedrock", name, "output") == 30.0
    assert any(name in line and "/input/" in line for line in now.superseded)


def test_embedding_rows_carry_output_dimensions(book):
    # 1g: Titan Text Embeddings V2 0.02 per 1M (batch 0.01), 1024/512/256 dims; Cohere Embed v4 0.12, 1536 default.
    titan = book.row("bedrock", "amazon.titan-embed-text-v2:0", "input")
    assert titan["usd"] == 0.02 and titan["output_dims"] == "1024;512;256"
    assert book.usd("bedrock", "amazon.titan-embed-text-v2:0", "batch_input") == 0.01
    assert book.row("bedrock", "cohere.embed-v4:0", "input")["output_dims"] == "256;512;1024;1536"
    assert P.embedding_dims("cohere.embed-v4:0")["default_dims"] == 1536
    with pytest.raises(CostlibError, match="closest valid: amazon.titan-embed-text-v2:0"):
        P.embedding_dims("amazon.titan-embed-text-v2")


def test_provisioned_throughput_is_per_model_unit_hour(book):
    # 1f: Titan Text Express 20.50 / 18.40 / 14.80 (GapS scrape, ~2025-02).
    rows = [book.row("bedrock", "amazon.titan-text-express-v1", d) for d in ("pt_no_commit", "pt_1_month", "pt_6_month")]
    assert [r["usd"] for r in rows] == [20.5, 18.4, 14.8]
    assert {r["unit"] for r in rows} == {"usd_per_model_unit_hour"}


def test_context_tier_prices_become_their_own_dimension(book):
    rows = book.table()
    tiered = rows[rows["dimension"].str.contains("_over_")]
    assert not tiered.empty
    assert tiered["notes"].str.contains("whose input exceeds").all()


# --- EC2 and SageMaker ---------------------------------------------------------------------------


def test_june_2025_p4_p5_price_cut_is_kept_with_both_dates():
    # 2: p5.48xlarge 98.32 (Karpenter table 2025-04-28) -> 55.04 (2025-06-23, still 2026-07-20); p4d 32.7726 -> 21.957642.
    before, after = _book(as_of=date(2025, 5, 1)), _book()
    assert before.usd("ec2", "p5.48xlarge", "on_demand") == 98.32
    assert after.usd("ec2", "p5.48xlarge", "on_demand") == 55.04
    assert before.usd("ec2", "p4d.24xlarge", "on_demand") == 32.7726
    assert after.usd("ec2", "p4d.24xlarge", "on_demand") == 21.957642
    old = before.row("ec2", "p5.48xlarge", "on_demand")
    new = after.row("ec2", "p5.48xlarge", "on_demand")
    assert (old["effective_to"], old["as_of"]) == (date(2025, 6, 23), date(2025, 4, 28))
    assert (new["effective_from"], new["as_of"]) == (date(2025, 6, 23), date(2026, 7, 20))


def test_sagemaker_p4d_p5_are_pre_cut_only(book):
    # 3: ml.p5.48xlarge 113.068 (FMBench, before the cut); no post-cut hosting price was sourced.
    with pytest.raises(CostlibError, match="in force on 2026-11-27; rows cover"):
        book.usd("sagemaker", "ml.p5.48xlarge", "on_demand")
    assert _book(as_of=date(2025, 1, 1)).usd("sagemaker", "ml.p5.48xlarge", "on_demand") == 113.068
    assert book.usd("sagemaker", "ml.g5.xlarge", "on_demand") == 1.4084


def test_ec2_us_west_2_rows_exist_for_the_gpu_instances():
    west = _book(region="us-west-2")
    # SkyPilot catalog: same list prices as us-east-1 for these.
    assert west.usd("ec2", "p5.48xlarge", "on_demand") == 55.04
    assert west.usd("ec2", "g6e.xlarge", "on_demand") == 1.861
    assert {"g5.xlarge", "g6.xlarge", "g6e.xlarge", "p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge",
            "p5en.48xlarge"} <= set(west.names("ec2"))  # fmt: skip


def test_p5e_has_hardware_but_no_price(book):
    assert H.instance_hardware("p5e.48xlarge")["accelerator"] == "H200"
    assert not book.has("ec2", "p5e.48xlarge", "on_demand")


# --- look-up errors ------------------------------------------------------------------------------


def test_unknown_instance_names_the_closest(book):
    with pytest.raises(CostlibError, match=r"unknown ec2 name 'p4d\.24xl'; closest valid: p4d\.24xlarge"):
        book.usd("ec2", "p4d.24xl", "on_demand")
    with pytest.raises(CostlibError, match=r"unknown service 'ec3'; closest valid: .*ec2"):
        book.usd("ec3", "p4d.24xlarge", "on_demand")
    with pytest.raises(CostlibError, match="closest valid: on_demand"):
        book.usd("ec2", "p4d.24xlarge", "ondemand")


def test_no_silent_fallback_to_another_region():
    west = _book(region="us-west-2")
    with pytest.raises(CostlibError, match="in region 'us-west-2'; regions with it: us-east-1"):
        west.usd("bedrock", "meta.llama3-1-70b-instruct-v1:0", "input")
    with pytest.raises(CostlibError, match="unknown region 'us-west-3'"):
        _book(region="us-west-3")


def test_tiered_price_needs_tiered_usd(book):
    with pytest.raises(CostlibError, match="use tiered_usd"):
        book.usd("data_transfer", "internet", "out")


# --- tiers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [float, list, np.array, pd.Series])
def test_tiered_usd_internet_egress(book, kind):
    # network.csv: first 100 GB free (usage.ai), to 10 TB $0.09, next 40 TB $0.085 (infracost data_transfer_test).
    q = [0.0, 50.0, 1000.0, 20000.0]
    expected = [0.0, 0.0, 900 * 0.09, 10140 * 0.09 + (20000 - 10240) * 0.085]
    if kind is float:
        assert_allclose(book.tiered_usd("data_transfer", "internet", "out", 1000.0), 81.0)
        return
    got = book.tiered_usd("data_transfer", "internet", "out", kind(q))
    assert_allclose(np.asarray(got), expected)
    if kind is pd.Series:
        assert isinstance(got, pd.Series)


def test_tiered_usd_api_gateway_matches_infracost(book):
    # infracost api_gateway_rest_api_test: 333 M -> $1,165.50; +667 M -> $1,867.60 (so 1,000 M -> $3,033.10).
    assert_allclose(book.tiered_usd("api_gateway", "rest_api", "requests", 1000), 1165.5 + 1867.6)


def test_tiered_usd_refuses_quantities_beyond_the_sourced_tiers(book):
    assert_allclose(book.tiered_usd("s3", "standard", "storage", 10000), 230.0)  # infracost: 10,000 GB -> $230
    with pytest.raises(CostlibError, match="exceeds the sourced tiers"):
        book.tiered_usd("s3", "standard", "storage", 60000)


# --- settings, overrides, discounts, provenance -------------------------------------------------


def test_price_settings_forbid_unknown_keys():
    with pytest.raises(CostlibError, match="unknown key prices.regoin"):
        P.price_settings({"regoin": "us-east-1"})
    with pytest.raises(CostlibError, match="0..100"):
        P.price_settings({"discounts_pct": {"ec2": 120}})


def test_overrides_file_replaces_prices_and_is_reported(tmp_path):
    (tmp_path / "my_prices.csv").write_text(
        HEADER + "ec2,p5.48xlarge,on_demand,us-east-1,usd_per_hour,40,,,,,negotiated quote Q-17,2026-11-01,private pricing\n",
        encoding="utf-8",
    )
    book = P.load_price_book(P.PriceSettings(as_of=TODAY, overrides_file="my_prices.csv"), base_dir=tmp_path)
    assert book.usd("ec2", "p5.48xlarge", "on_demand") == 40.0
    book.usd("ec2", "g5.xlarge", "on_demand")
    used = book.used()
    assert used.set_index("name").loc["p5.48xlarge", "overridden"]
    assert not used.set_index("name").loc["g5.xlarge", "overridden"]
    assert any("Overridden: ec2/p5.48xlarge/on_demand" in line for line in book.summary_lines())


def test_overrides_file_is_checked_like_a_table(tmp_path):
    (tmp_path / "bad.csv").write_text(
        HEADER + "ec2,p5.48xlarge,on_demand,us-east-1,usd_per_hour,40,,,,,,2026-11-01,\n", encoding="utf-8"
    )
    with pytest.raises(CostlibError, match="overrides file bad.csv line 2: source is empty"):
        P.load_price_book(P.PriceSettings(overrides_file="bad.csv"), base_dir=tmp_path)
    (tmp_path / "svc.csv").write_text(
        HEADER + "ec22,p5.48xlarge,on_demand,us-east-1,usd_per_hour,40,,,,,src,2026-11-01,\n", encoding="utf-8"
    )
    with pytest.raises(CostlibError, match="unknown service 'ec22'.*closest valid: ec2"):
        P.load_price_book(P.PriceSettings(overrides_file="svc.csv"), base_dir=tmp_path)


def test_discount_per_service():
    book = _book(discounts_pct={"bedrock": 20, "ec2": 0})
    row = book.row("bedrock", "meta.llama3-1-70b-instruct-v1:0", "input")
    assert_allclose(row["usd"], 0.72 * 0.8)
    assert row["list_usd"] == 0.72 and row["overridden"] and row["override"] == "20% discount"
    with pytest.raises(CostlibError, match="unknown service 'bedrok'"):
        _book(discounts_pct={"bedrok": 10})


def test_oldest_as_of_and_stale_warnings():
    book = _book(max_age_days=400)
    assert book.oldest_as_of_used() is None and book.stale_warnings() == []
    book.usd("ec2", "p5.48xlarge", "on_demand")  # as of 2026-07-20: 130 days
    book.usd("nat_gateway", "nat_gateway", "hour")  # infracost, as of 2024-07-01: 879 days
    assert book.oldest_as_of_used() == date(2024, 7, 1)
    warnings = book.stale_warnings()
    assert len(warnings) == 1 and "nat_gateway/nat_gateway/hour (us-east-1) is 879 days old" in warnings[0]
    assert _book(max_age_days=2000).stale_warnings() == []


# --- instances -----------------------------------------------------------------------------------


def test_instances_csv_is_valid_and_covers_every_priced_instance():
    inst = H.load_instances()
    assert tuple(inst.columns) == H.INSTANCE_COLUMNS
    assert set(inst["accelerator"]) <= set(H.ACCELERATORS)
    every = P.load_price_book()._all
    priced = set(every.loc[every["service"] == "ec2", "name"]) | {
        n.removeprefix("ml.") for n in every.loc[every["service"] == "sagemaker", "name"]
    }
    assert priced <= set(inst["instance"])


def test_instance_hardware():
    # Karpenter instance-types reference (EC2 DescribeInstanceTypes): g5 A10G 22888 MiB -> 22.35 GiB;
    # p4d 8 x A100 40960 MiB; p5en 8 x H200 144384 MiB -> 141.0 GiB.
    g5 = H.instance_hardware("g5.12xlarge")
    assert (g5["accelerator"], g5["accelerator_count"], g5["accelerator_memory_gib"]) == ("A10G", 4, 22.35)
    p4d = H.instance_hardware("ml.p4d.24xlarge")
    assert (p4d["accelerator"], p4d["accelerator_count"], p4d["vcpu"], p4d["memory_gib"]) == ("A100-40GB", 8, 96, 1152)
    assert H.instance_hardware("p5en.48xlarge")["accelerator_memory_gib"] == 141.0
    with pytest.raises(CostlibError, match="unknown instance type 'ml.p4.24xlarge'; closest valid: p4d.24xlarge"):
        H.instance_hardware("ml.p4.24xlarge")


# --- command line --------------------------------------------------------------------------------


def test_cli_list_prints_every_row_with_source_and_as_of(capsys, book):
    assert cli_main(["prices", "list"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")]
    assert len(lines) == len(P.load_price_book().table())
    for line in lines:
        fields = line.split("\t")
        assert date.fromisoformat(fields[-2]) and fields[-1].split(" OVERRIDDEN")[0].strip()


def test_cli_list_json_rows(capsys):
    assert cli_main(["prices", "list", "--service", "ec2", "--region", "us-east-1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["service"] == "ec2" and r["region"] == "us-east-1" for r in rows)
    for r in rows:
        assert {"service", "name", "region", "unit", "usd", "source", "as_of"} <= set(r)
        assert r["source"] and date.fromisoformat(r["as_of"]) and math.isfinite(r["usd"])


def test_cli_params_file_with_unknown_instance_exits_2_and_suggests(tmp_path, capsys):
    """Done-when: a params file with an unknown instance type exits 2 and suggests the nearest names."""
    params = tmp_path / "p.yaml"
    params.write_text("prices:\n  region: us-east-1\n", encoding="utf-8")
    assert cli_main(["prices", "show", "ec2", "p4.24xlarge", "on_demand", "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown ec2 name 'p4.24xlarge'; closest valid: p4d.24xlarge" in err
    params.write_text("prices:\n  regoin: us-east-1\n", encoding="utf-8")
    assert cli_main(["prices", "list", "--params", str(params)]) == 2
    assert "unknown key prices.regoin" in capsys.readouterr().err


def test_cli_list_unknown_service_exits_2(capsys):
    assert cli_main(["prices", "list", "--service", "sagemkr"]) == 2
    assert "closest valid: sagemaker" in capsys.readouterr().err


def test_discount_applies_on_top_of_an_override_file_price(tmp_path):
    # Override Llama 3.1 8B input to 0.18 and take 10 % off bedrock: 0.18 x 0.9 = 0.162;
    # the list price 0.22 (genai-prices) is kept as list_usd.
    over = tmp_path / "mine.csv"
    over.write_text(
        "service,name,dimension,region,unit,usd,source,as_of,notes\n"
        "bedrock,meta.llama3-1-8b-instruct-v1:0,input,us-east-1,usd_per_1m_tokens,0.18,"
        "agreement,2026-10-01,negotiated\n")
    book = P.load_price_book(P.PriceSettings(overrides_file=str(over), discounts_pct={"bedrock": 10}))
    row = book.row("bedrock", "meta.llama3-1-8b-instruct-v1:0", "input")
    assert row["usd"] == pytest.approx(0.162)
    assert row["list_usd"] == pytest.approx(0.22)
    assert row["overridden"]
