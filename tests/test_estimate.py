"""The estimate: line items, totals and per-unit costs, checked by hand."""

import textwrap

import pytest
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate, requests_per_month
from costlib.whatif import sweep
from costlib.bill.params import load_params

EXPLICIT = textwrap.dedent(
    """
    workload: {in_tokens: 100, out_tokens: 50, avg_rps: 1, p95_rps: 2, p95_latency_ms: 500}
    options:
      api: {kind: managed_api, model: any-model, usd_per_1m_input_tokens: 0.22,
            usd_per_1m_output_tokens: 0.22}
      fleet: {kind: self_hosted, platform: ec2, instance: g5.xlarge, batch_size: 2,
              tokens_per_second_per_instance: 100, usd_per_instance_hour: 1.006,
              ebs_gb_per_instance: 0, image_gb: 0}
    """
)


@pytest.fixture
def explicit(tmp_path, no_plumbing):
    path = tmp_path / "explicit.yaml"
    path.write_text(EXPLICIT)
    return load_params(path)


def test_requests_per_month_uses_730_hours():
    # 3 rps x 730 h x 3600 s = 7,884,000 requests
    assert requests_per_month(3) == 7_884_000.0


def test_managed_option_bills_tokens_times_price(explicit):
    # 1 rps -> 2,628,000 requests; 100 in -> 262.8 M tokens x 0.22 = 57.816 USD;
    # 50 out -> 131.4 M tokens x 0.22 = 28.908 USD; total 86.724 USD.
    api = next(o for o in estimate(explicit).options if o.name == "api")
    assert_allclose([li.monthly_usd for li in api.line_items], [57.816, 28.908, 0.0])
    assert_allclose(api.monthly_usd, 86.724)
    assert_allclose(api.usd_per_request, 86.724 / 2_628_000)
    # 150 tokens per request -> 394.2 M tokens = 394,200 thousands
    assert_allclose(api.usd_per_1k_tokens, 86.724 / 394_200)


def test_self_hosted_fixed_fleet_is_sized_for_p95(explicit):
    # p95: 2 rps x 150 = 300 tokens/s; capacity 100 x 2 = 200 per instance -> 1.5 -> 2 instances;
    # 2 x 730 h x 1.006 USD = 1,468.76 USD; utilisation = 150 / 400 = 0.375.
    fleet = next(o for o in estimate(explicit).options if o.name == "fleet")
    assert fleet.details["instances_p95"] == 2
    assert_allclose(fleet.monthly_usd, 1468.76)
    assert_allclose(fleet.details["utilisation"], 0.375)


def test_line_items_sum_to_the_option_total(explicit):
    for option in estimate(explicit).options:
        assert_allclose(sum(li.monthly_usd for li in option.line_items), option.monthly_usd)


def test_cheapest_names_the_lowest_total(explicit):
    result = estimate(explicit)
    assert result.cheapest == "api"
    assert result.to_dict()["cheapest"] == "api"


def test_tidy_frame_has_one_row_per_line_item(explicit):
    result = estimate(explicit)
    frame = result.to_frame()
    assert len(frame) == sum(len(o.line_items) for o in result.options)
    assert_allclose(frame.groupby("option")["monthly_usd"].sum()["fleet"], 1468.76)


def test_sweep_over_batch_size_lowers_self_hosted_cost(explicit):
    s = sweep(explicit, "options.fleet.batch_size", [1, 2, 4])
    fleet = s[s.option == "fleet"].set_index("batch_size")["monthly_usd"]
    # batch 1: 300/100 = 3 instances; batch 2: 2; batch 4: 300/400 = 0.75 -> 1
    assert_allclose(fleet.to_numpy(), [3 * 730 * 1.006, 2 * 730 * 1.006, 730 * 1.006])
    api = s[s.option == "api"]["monthly_usd"]
    assert api.nunique() == 1
