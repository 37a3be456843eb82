"""Issue 14: regions side by side, the FOCUS export, the xlsx workbook, and the new price rows.

Oracles: hand calculations shown in each test, the FOCUS 1.2 column texts (typed in below from
https://github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec/tree/v1.2/specification/columns),
and properties (the FOCUS rows of an option add up to its total; the workbook's totals equal
the JSON's). No test reads a printout of the code back as its expectation.
"""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import date

import pytest
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate
from costlib.bill.focus import focus_rows
from costlib.bill.params import load_params
from costlib.cli import main
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.tables import prices as P
from costlib.whatif.regions import compare_regions, parse_regions

from test_price_regions import FIXTURE_OVERRIDES, PARAMS, WEST

# --- FOCUS 1.2, typed in from specification/columns/*.md at tag v1.2 --------------------------

#: columns whose "Feature level" is Mandatory
MANDATORY_V12 = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory",
    "ServiceName",
]
#: mandatory columns that allow nulls ("Allows nulls: True")
MANDATORY_NULLABLE = {"BillingAccountName", "ChargeClass", "ChargeDescription", "PricingQuantity",
                      "PricingUnit"}
SERVICE_CATEGORY = {"AI and Machine Learning", "Analytics", "Business Applications", "Compute",
                    "Databases", "Developer Tools", "Multicloud", "Identity", "Integration",
                    "Internet of Things", "Management and Governance", "Media", "Migration",
                    "Mobile", "Networking", "Security", "Storage", "Web", "Other"}
CHARGE_CATEGORY = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
CHARGE_FREQUENCY = {"One-Time", "Recurring", "Usage-Based"}
PRICING_CATEGORY = {"Standard", "Dynamic", "Committed", "Other"}
#: servicesubcategory.md: the subcategories we use, under the category the spec puts them in
SUBCATEGORY_OF = {
    "Generative AI": "AI and Machine Learning", "Machine Learning": "AI and Machine Learning",
    "Virtual Machines": "Compute", "Containers": "Compute", "Serverless Compute": "Compute",
    "Block Storage": "Storage", "Object Storage": "Storage",
    "Network Connectivity": "Networking", "Application Networking": "Networking",
    "API Management": "Integration", "Observability": "Management and Governance",
    "Secret Management": "Security", "Search": "Analytics", "NoSQL Databases": "Databases",
    "Relational Databases": "Databases", "Other (Other)": "Other",
}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # datetime_format.md

ESTIMATE_FILES = ["default.yaml", "rag_plumbing.yaml", "scenario_c_cached_rag.yaml"]


@pytest.fixture(scope="module")
def estimates():
    return {name: estimate(load_params(PARAMS_DIR / name)) for name in ESTIMATE_FILES}


def _west_params(tmp_path, region=WEST, overrides=True):
    (tmp_path / "fixture_overrides.csv").write_text(FIXTURE_OVERRIDES, encoding="utf-8")
    text = PARAMS.format(region=region,
                         overrides="  overrides_file: fixture_overrides.csv\n" if overrides else "")
    path = tmp_path / f"params_{region}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_params(path)


# --- regions side by side ----------------------------------------------------------------------


def test_a_region_with_every_price_gives_the_estimate_of_the_file_with_that_region(tmp_path):
    # the fixture overrides supply the four rows us-west-2 lacks (at 0), so both regions have
    # every price; each column must be the estimate of the same file with `region:` set to it
    params = _west_params(tmp_path)
    cmp = compare_regions(params, ["us-east-1", WEST])
    assert all(r.priced for r in cmp.results)
    for region in ("us-east-1", WEST):
        alone = estimate(_west_params(tmp_path, region=region))
        assert alone.region == region
        for o in alone.options:
            assert_allclose(cmp.totals().loc[o.name, region], o.monthly_usd, rtol=1e-12)
            for cat in {li.category for li in o.line_items}:
                want = sum(li.monthly_usd for li in o.line_items if li.category == cat)
                got = cmp.table().set_index(["option", "category"]).loc[(o.name, cat), region]
                assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_regions_differ_only_where_their_rows_differ(tmp_path):
    # g5.xlarge: us-east-1 1.006 x 9 x 730 = 6,609.42 (karpenter) vs us-west-2 1.006 (SkyPilot):
    # the same rate, so the fleet's inference cells agree; the NAT gateway-hour is 0.045 in both
    cmp = compare_regions(_west_params(tmp_path), ["us-east-1", WEST])
    t = cmp.table().set_index(["option", "category"])
    assert_allclose(t.loc[("g5_fleet", "inference"), "us-east-1"], 6_609.42)
    assert_allclose(t.loc[("g5_fleet", "inference"), WEST], 6_609.42)


def test_a_missing_price_names_the_row_and_leaves_its_cells_empty(tmp_path):
    # without the fixture, us-west-2 lacks exactly the rows test_price_regions lists as not
    # sourced there (the ALB is off in these params): NAT per-GB, Logs ingest and store, KMS key
    cmp = compare_regions(_west_params(tmp_path, overrides=False), ["us-east-1", WEST])
    west = cmp.result(WEST)
    assert not west.priced
    assert {(m.service, m.name, m.dimension) for m in west.missing} == {
        ("nat_gateway", "nat_gateway", "data_processed"),
        ("cloudwatch_logs", "standard", "ingest"),
        ("cloudwatch_logs", "standard", "store"),
        ("kms", "customer_managed_key", "key_month"),
    }
    t = cmp.table().set_index(["option", "category"])
    for opt in ("managed_llama", "g5_fleet"):
        assert math.isnan(t.loc[(opt, "total"), WEST])
        assert math.isnan(t.loc[(opt, "observability"), WEST])
        assert math.isnan(t.loc[(opt, "security"), WEST])
        assert not math.isnan(t.loc[(opt, "total"), "us-east-1"])
    # the Llama tokens are sourced in us-west-2 (0.22 / 0.22, llmfy): 1,734.48 + 346.896
    assert_allclose(t.loc[("managed_llama", "inference"), WEST], 1_734.48 + 346.896)
    line = next(x for x in cmp.missing_lines() if x.startswith(WEST))
    assert "cloudwatch_logs/standard/ingest" in line and "kms/customer_managed_key/key_month" in line
    # JSON: the empty cells are null, never a number from the other region
    d = cmp.to_dict()
    cell = next(r for r in d["table"] if r["option"] == "managed_llama" and r["category"] == "total")
    assert cell[WEST] is None and cell["us-east-1"] > 0


def test_an_unknown_region_is_named_not_priced(tmp_path):
    cmp = compare_regions(_west_params(tmp_path), ["us-east-1", "eu-west-9"])
    bad = cmp.result("eu-west-9")
    assert bad.error and "eu-west-9" in bad.error
    assert cmp.totals()["eu-west-9"].isna().all()


def test_parse_regions_rejects_empty_and_repeated():
    assert parse_regions(" us-east-1, us-west-2 ") == ["us-east-1", "us-west-2"]
    with pytest.raises(CostlibError):
        parse_regions(",")
    with pytest.raises(CostlibError, match="twice"):
        parse_regions("us-east-1,us-east-1")


def test_cli_regions_prints_one_table_and_names_the_gaps(capsys, tmp_path):
    params = _west_params(tmp_path, overrides=False)
    assert main(["estimate", str(params.source_path), "--regions", f"us-east-1,{WEST}"]) == 0
    out = capsys.readouterr().out
    assert "us-east-1" in out and WEST in out
    assert f"{WEST}: no price for" in out and "nat_gateway/nat_gateway/data_processed" in out
    assert main(["estimate", str(params.source_path), "--regions", "us-east-1",
                 "--format", "focus"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# --- FOCUS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ESTIMATE_FILES)
def test_focus_billed_cost_sums_to_each_options_total(estimates, name):
    result = estimates[name]
    rows = focus_rows(result)
    for o in result.options:
        mine = [r for r in rows if r["x_Option"] == o.name]
        assert len(mine) == len(o.line_items)
        assert_allclose(math.fsum(r["BilledCost"] for r in mine), o.monthly_usd, rtol=1e-12)
        assert_allclose(math.fsum(r["EffectiveCost"] for r in mine), o.monthly_usd, rtol=1e-12)
        assert_allclose(math.fsum(r["x_FloorCost"] for r in mine), o.floor_usd, rtol=1e-12,
                        atol=1e-12)


@pytest.mark.parametrize("name", ESTIMATE_FILES)
def test_focus_rows_have_every_mandatory_column_and_allowed_values(estimates, name):
    rows = focus_rows(estimates[name])
    assert rows
    for r in rows:
        for col in MANDATORY_V12:
            assert col in r, col
            if col not in MANDATORY_NULLABLE:
                assert r[col] is not None and r[col] != "", (col, r["ChargeDescription"])
        assert r["ServiceCategory"] in SERVICE_CATEGORY
        assert SUBCATEGORY_OF[r["ServiceSubcategory"]] == r["ServiceCategory"]
        assert r["ChargeCategory"] in CHARGE_CATEGORY
        assert r["ChargeFrequency"] in CHARGE_FREQUENCY
        assert r["PricingCategory"] in PRICING_CATEGORY
        assert r["ChargeClass"] is None  # "Correction" only, for corrections of past periods
        assert r["BillingCurrency"] == "USD"
        for col in ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"):
            assert DATETIME.match(r[col]), r[col]
        # pricingunit.md: PricingUnit is null exactly when PricingQuantity is null
        assert (r["PricingUnit"] is None) == (r["PricingQuantity"] is None)
        # listcost.md / contractedcost.md: cost = unit price x PricingQuantity
        assert_allclose(r["ListCost"], r["ListUnitPrice"] * r["PricingQuantity"], rtol=1e-9, atol=1e-9)
        assert_allclose(r["ContractedCost"], r["ContractedUnitPrice"] * r["PricingQuantity"],
                        rtol=1e-9, atol=1e-9)
        # no commitment applies: every CommitmentDiscount* column is null
        assert all(r[c] is None for c in r if c.startswith("CommitmentDiscount"))
        custom = [c for c in r if c not in MANDATORY_V12 and c[0].islower()]
        assert all(c.startswith("x_") for c in custom)
        assert r["x_FocusVersion"] == "1.2"


def test_focus_zero_quantity_line_item_is_a_row_of_zero_cost(estimates):
    # default.yaml: "engineer time to keep it up" is 0 engineer-hours at 0 USD (not set)
    rows = focus_rows(estimates["default.yaml"])
    eng = [r for r in rows if r["ChargeDescription"] == "engineer time to keep it up"]
    assert eng and all(r["PricingQuantity"] == 0.0 and r["BilledCost"] == 0.0 for r in eng)
    assert all(r["PricingUnit"] == "Hours" and r["x_AwsCharge"] is False for r in eng)
    assert all(r["ProviderName"] != "Amazon Web Services" for r in eng)


def test_focus_period_is_the_month_of_the_prices_or_the_one_given(estimates):
    result = estimates["default.yaml"]
    # default.yaml pins prices.as_of; its month is the forecast month
    when = result.prices["in_force_on"]
    first = focus_rows(result)[0]
    assert first["BillingPeriodStart"] == f"{when[:7]}-01T00:00:00Z"
    # December rolls the exclusive end into January of the next year
    dec = focus_rows(result, "2026-12")[0]
    assert (dec["ChargePeriodStart"], dec["ChargePeriodEnd"]) == ("2026-12-01T00:00:00Z",
                                                                 "2027-01-01T00:00:00Z")
    with pytest.raises(CostlibError, match="YYYY-MM"):
        focus_rows(result, "December")


def test_focus_list_cost_carries_the_list_price_under_a_discount(tmp_path):
    # a 10 % Bedrock discount: the unit price is 0.9 x list, so ListCost = BilledCost / 0.9
    path = tmp_path / "d.yaml"
    path.write_text(PARAMS.format(region="us-east-1", overrides="  discounts_pct: {bedrock: 10}\n"))
    result = estimate(load_params(path))
    rows = [r for r in focus_rows(result) if r["ServiceName"] == "Amazon Bedrock"
            and r["BilledCost"] > 0]
    assert rows
    for r in rows:
        assert_allclose(r["ListCost"], r["BilledCost"] / 0.9, rtol=1e-12)
        assert_allclose(r["ListUnitPrice"], 0.22)  # Llama 3.1 8B list price, us-east-1


def test_focus_csv_file_sums_and_names_its_version(capsys, tmp_path, estimates):
    out = tmp_path / "forecast.csv"
    assert main(["estimate", str(PARAMS_DIR / "default.yaml"), "--format", "focus",
                 "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert set(MANDATORY_V12) <= set(header)
    for o in estimates["default.yaml"].options:
        billed = [float(r["BilledCost"]) for r in rows if r["x_Option"] == o.name]
        assert_allclose(math.fsum(billed), o.monthly_usd, rtol=1e-12)
    meta = json.loads((tmp_path / "forecast.csv.metadata.json").read_text())
    assert meta["FocusVersion"] == "1.2"
    assert [c["ColumnName"] for c in meta["ColumnDefinition"]] == header
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecast.csv", "forecast.csv.metadata.json"]


# --- xlsx --------------------------------------------------------------------------------------


def _sheet_dicts(ws):
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    out = []
    for row in rows[1:]:
        if row[0] is None:  # the blank line before the note
            break
        out.append(dict(zip(header, row, strict=False)))
    return out


def test_xlsx_totals_equal_the_json(capsys, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    params = PARAMS_DIR / "rag_plumbing.yaml"
    assert main(["estimate", str(params), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    out = tmp_path / "estimate.xlsx"
    assert main(["estimate", str(params), "--format", "xlsx", "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["totals", "line items", "prices used", "assumptions"]
    totals = {r["option"]: r for r in _sheet_dicts(wb["totals"])}
    for o in data["options"]:
        for key in ("monthly_usd", "floor_usd", "usage_usd", "usd_per_request", "usd_per_1k_tokens"):
            assert_allclose(totals[o["name"]][key], o[key], rtol=1e-12)
    # numbers are numbers with a format, not text
    cell = wb["totals"]["C2"]
    assert cell.data_type == "n" and cell.number_format == "#,##0.00"
    items = _sheet_dicts(wb["line items"])
    want = [li for o in data["options"] for li in o["line_items"]]
    assert len(items) == len(want)
    assert [r["source"] for r in items] == [li["source"] for li in want]
    assert all(r["source"] for r in items)
    assert_allclose([r["unit_usd"] for r in items], [li["unit_usd"] for li in want], rtol=1e-12)
    keys = {r["key"]: r["value"] for r in _sheet_dicts(wb["assumptions"])}
    assert keys["prices.in_force_on"] == data["prices"]["in_force_on"]
    # an empty cell reads back as None: a blank line of the params file
    params_lines = [r["value"] or "" for r in _sheet_dicts(wb["assumptions"])
                    if r["key"] == "params file"]
    assert params_lines == params.read_text(encoding="utf-8").splitlines()
    assert [p.name for p in tmp_path.iterdir()] == ["estimate.xlsx"]  # no temp file left


def test_xlsx_work_unit_columns_when_the_params_give_one(tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    src = next((p for p in sorted(PARAMS_DIR.glob("*.yaml")) if "work_unit:" in p.read_text()), None)
    if src is None:
        pytest.skip("no params file with a work_unit block")
    out = tmp_path / "u.xlsx"
    assert main(["estimate", str(src), "--format", "xlsx", "--out", str(out)]) == 0
    result = estimate(load_params(src))
    totals = {r["option"]: r for r in _sheet_dicts(openpyxl.load_workbook(out)["totals"])}
    for o in result.options:
        assert_allclose(totals[o.name]["usd_per_unit"], o.usd_per_unit, rtol=1e-12)


@pytest.mark.parametrize("out, why", [("missing_dir/x.xlsx", "does not exist"),
                                      ("x.csv", "must end with .xlsx")])
def test_xlsx_bad_out_is_one_line(capsys, tmp_path, out, why):
    assert main(["estimate", str(PARAMS_DIR / "default.yaml"), "--format", "xlsx",
                 "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0]


def test_xlsx_needs_out_and_json_alias_agrees(capsys):
    assert main(["estimate", str(PARAMS_DIR / "default.yaml"), "--format", "xlsx"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["estimate", str(PARAMS_DIR / "default.yaml"), "--json", "--format", "focus"]) == 2
    capsys.readouterr()
    assert main(["estimate", str(PARAMS_DIR / "default.yaml"), "--format", "json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["estimate", str(PARAMS_DIR / "default.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == a


# --- the new price rows --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def east():
    return P.load_price_book(P.PriceSettings(as_of=date(2026, 12, 2)))


def test_xray_recorded_tiers_match_the_aws_page(east):
    # aws.amazon.com/xray/pricing: first 100,000 traces a month free, then USD 5 per million.
    # 131,400 traces (5 % of 1 rps x 730 h) -> (0.1314 - 0.1) M x 5 = 0.157 USD
    assert_allclose(east.tiered_usd("xray", "traces", "recorded", 0.1314), 0.157)
    assert east.tiered_usd("xray", "traces", "recorded", 0.1) == 0.0
    # retrieved or scanned: first 1 M free, then 0.50 per million: 3 M -> 2 x 0.5 = 1.00
    assert_allclose(east.tiered_usd("xray", "traces", "retrieved_or_scanned", 3.0), 1.0)
    # Insights: the page's example, 148,800 traces x 0.000001 = 0.15 (rounded on the page)
    assert_allclose(east.usd("xray", "insights", "traces_processed") * 0.1488, 0.1488)


def test_custom_metrics_first_tier_only(east):
    # c3x.dev: 0.30 per metric-month for the first 10,000; no sourced price beyond
    assert_allclose(east.tiered_usd("cloudwatch_metrics", "custom_metric", "metric_month", 20), 6.0)
    with pytest.raises(CostlibError, match="exceeds the sourced tiers"):
        east.tiered_usd("cloudwatch_metrics", "custom_metric", "metric_month", 10_001)


def test_west_alb_and_nat_hours_match_the_defang_sample(tmp_path):
    # Defang docs: 'USW2-LoadBalancerUsage 730 Hours $16.43', 'USW2-NatGateway-Hours 730 Hours $32.85'
    west = P.load_price_book(P.PriceSettings(region=WEST, as_of=date(2026, 12, 2)))
    assert round(west.usd("alb", "application_load_balancer", "hour") * 730, 2) == 16.43
    assert_allclose(west.usd("nat_gateway", "nat_gateway", "hour") * 730, 32.85)
    assert not west.has("alb", "application_load_balancer", "lcu_hour")


def test_xray_in_the_bill_uses_the_tiers_when_no_price_is_given(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(PARAMS.format(region="us-east-1", overrides="")
                    + "observability: {trace_sample_rate: 0.05}\n")
    result = estimate(load_params(path))
    item = next(li for li in result.options[0].line_items if li.item.startswith("X-Ray"))
    # PARAMS has avg_rps 2: 5,256,000 requests x 5 % = 262,800 traces -> (0.2628 - 0.1) x 5
    assert_allclose(item.monthly_usd, (0.2628 - 0.1) * 5.0)
    assert "xray/pricing" in item.source


def test_focus_marks_a_committed_fleets_used_and_unused_hours():
    """Scenario A's autoscaled fleet with a Compute Savings Plan at a stated 30 % (illustrative):
    the committed hours become a Used and an Unused row (PricingCategory Committed, a Savings
    Plan is Spend-based), their BilledCost sums to the committed item's, and the option's rows
    still sum to its total."""
    from costlib.bill.estimate import estimate
    from costlib.bill.focus import focus_rows
    from costlib.bill.params import load_params, with_overrides
    from costlib.core.paths import PARAMS_DIR

    name = "g5_llama31_8b_autoscaled"
    params = with_overrides(load_params(PARAMS_DIR / "scenario_a_bursty.yaml"), {
        f"options.{name}.buying": {"commitment": {
            "kind": "compute_savings_plan", "term_years": 1, "payment": "no_upfront",
            "discount_pct": 30, "source": "stated for the test"}}})
    result = estimate(params)
    option = result.option(name)
    committed = [li for li in option.line_items if "committed instance-hours" in li.item]
    assert len(committed) == 1
    rows = [r for r in focus_rows(result) if r["x_Option"] == name]
    marked = [r for r in rows if r["CommitmentDiscountId"] is not None]
    assert {r["CommitmentDiscountStatus"] for r in marked} <= {"Used", "Unused"} and marked
    assert all(r["PricingCategory"] == "Committed" and r["CommitmentDiscountCategory"] == "Spend"
               and r["CommitmentDiscountType"] == "Savings Plan" for r in marked)
    assert sum(r["BilledCost"] for r in marked) == pytest.approx(committed[0].monthly_usd, rel=1e-12)
    assert sum(r["BilledCost"] for r in rows) == pytest.approx(option.monthly_usd, rel=1e-12)
    unmarked = [r for r in rows if r["CommitmentDiscountId"] is None]
    assert all(r["CommitmentDiscountStatus"] is None for r in unmarked)


def test_focus_an_oversized_commitment_has_unused_hours_priced_at_the_committed_rate():
    """Committing 10 instances to a fleet that idles at about 3: the Unused row carries the
    share of committed hours the fleet never needs; Used + Unused = the committed item."""
    from costlib.bill.estimate import estimate
    from costlib.bill.focus import focus_rows
    from costlib.bill.params import load_params, with_overrides
    from costlib.core.paths import PARAMS_DIR

    name = "g5_llama31_8b_autoscaled"
    params = with_overrides(load_params(PARAMS_DIR / "scenario_a_bursty.yaml"), {
        f"options.{name}.buying": {"commitment": {
            "kind": "reserved_instance", "term_years": 1, "payment": "no_upfront",
            "discount_pct": 30, "instances": 10, "source": "stated for the test"}}})
    result = estimate(params)
    util = result.option(name).details["buying"]["committed_utilisation"]
    assert 0 < util < 1
    marked = {r["CommitmentDiscountStatus"]: r for r in focus_rows(result)
              if r["x_Option"] == name and r["CommitmentDiscountId"] is not None}
    assert set(marked) == {"Used", "Unused"}
    assert marked["Unused"]["CommitmentDiscountCategory"] == "Usage"  # an RI
    total = marked["Used"]["BilledCost"] + marked["Unused"]["BilledCost"]
    assert marked["Unused"]["BilledCost"] == pytest.approx((1 - util) * total, rel=1e-12)
    assert marked["Unused"]["ConsumedQuantity"] is None
