"""The --json contract of `costlib estimate`, for every params file in params/."""

import json

import pytest
from numpy.testing import assert_allclose

from costlib.cli import main
from costlib.bill.options import CATEGORIES
from costlib.core.paths import PARAMS_DIR

PARAMS_FILES = sorted(PARAMS_DIR.glob("*.yaml"))
LINE_ITEM_KEYS = {"category", "item", "monthly_usd", "quantity", "unit", "unit_usd", "source",
                  "floor_usd"}


@pytest.fixture(scope="module", params=PARAMS_FILES, ids=lambda p: p.name)
def estimate_json(request):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["estimate", str(request.param), "--json"]) == 0
    return json.loads(buf.getvalue())


def test_every_params_file_is_covered():
    names = {p.name for p in PARAMS_FILES}
    assert {"default.yaml", "scenario_a_bursty.yaml", "scenario_b_steady.yaml",
            "scenario_c_cached_rag.yaml"} <= names


def test_options_carry_the_contract_keys(estimate_json):
    for o in estimate_json["options"]:
        assert {"name", "kind", "monthly_usd", "usd_per_request", "usd_per_1k_tokens",
                "floor_usd", "usage_usd", "usd_per_unit", "usd_per_unit_all_in",
                "line_items"} <= set(o)
        assert o["line_items"], o["name"]
        for li in o["line_items"]:
            assert LINE_ITEM_KEYS <= set(li)
            assert li["category"] in CATEGORIES
        if o["kind"] == "self_hosted":
            assert {"instances_p95", "avg_instances", "utilisation"} <= set(o)


def test_line_items_sum_to_monthly_total(estimate_json):
    for o in estimate_json["options"]:
        assert_allclose(sum(li["monthly_usd"] for li in o["line_items"]), o["monthly_usd"],
                        rtol=1e-12)


def test_floor_and_usage_add_up_to_the_total(estimate_json):
    for o in estimate_json["options"]:
        assert_allclose(o["floor_usd"] + o["usage_usd"], o["monthly_usd"], rtol=1e-12)
        assert_allclose(sum(li["floor_usd"] for li in o["line_items"]), o["floor_usd"],
                        rtol=1e-12)
        assert 0.0 <= o["floor_usd"] <= o["monthly_usd"]


def test_per_unit_costs_follow_from_the_work_unit(estimate_json):
    unit = estimate_json["work_unit"]
    for o in estimate_json["options"]:
        if unit is None:
            assert o["usd_per_unit"] is None and o["usd_per_unit_all_in"] is None
            continue
        units = unit["units_per_month"]
        assert_allclose(units, estimate_json["workload"]["requests_per_month"]
                        / unit["requests_per_unit"], rtol=1e-12)
        assert_allclose(o["usd_per_unit"] * units, o["usage_usd"], rtol=1e-12)
        assert_allclose(o["usd_per_unit_all_in"] * units, o["monthly_usd"], rtol=1e-12)


def test_each_line_item_is_quantity_times_unit_price(estimate_json):
    for o in estimate_json["options"]:
        for li in o["line_items"]:
            assert_allclose(li["quantity"] * li["unit_usd"], li["monthly_usd"], rtol=1e-12)


def test_cheapest_is_the_lowest_monthly_total(estimate_json):
    totals = {o["name"]: o["monthly_usd"] for o in estimate_json["options"]}
    assert estimate_json["cheapest"] == min(totals, key=totals.get)


def test_per_request_and_per_token_costs_follow_from_the_total(estimate_json):
    w = estimate_json["workload"]
    reqs = w["requests_per_month"]
    tokens_k = reqs * (w["in_tokens"] + w["out_tokens"]) / 1000
    for o in estimate_json["options"]:
        assert_allclose(o["usd_per_request"], o["monthly_usd"] / reqs)
        assert_allclose(o["usd_per_1k_tokens"], o["monthly_usd"] / tokens_k)


def test_prices_block_states_provenance(estimate_json):
    prices = estimate_json["prices"]
    assert prices["in_force_on"] and prices["oldest_as_of"]
    for row in prices["used"]:
        assert row["source"] and row["as_of"]
    assert prices["oldest_as_of"] == min(r["as_of"] for r in prices["used"])


def test_every_category_appears_for_every_option(estimate_json):
    for o in estimate_json["options"]:
        assert {li["category"] for li in o["line_items"]} == set(CATEGORIES), o["name"]
