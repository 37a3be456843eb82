"""Each option kind priced by hand: managed, provisioned, self-hosted, router.

Workload in every test: 100 tokens in, 50 out, a steady 1 request/s, so a 730-hour month has
1 x 730 x 3600 = 2,628,000 requests and 150 tokens per request.
"""

import textwrap

import pytest
from numpy.testing import assert_allclose

from costlib.core.errors import CostlibError
from costlib.bill.estimate import estimate
from costlib.bill.params import load_params

REQS = 2_628_000
HEAD = textwrap.dedent(
    """
    workload: {in_tokens: 100, out_tokens: 50, avg_rps: 1, p95_latency_ms: 500}
    prices: {as_of: 2026-11-27}
    options:
    """
)


@pytest.fixture(autouse=True)
def _options_only(no_plumbing, fixture_prices):
    """These tests price each option's own items (plumbing is tested elsewhere) against the
    fixture price table tests/fixtures/prices."""


def priced(tmp_path, options_yaml):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(options_yaml), "  "))
    return {o.name: o for o in estimate(load_params(path)).options}


def items(option):
    return {li.item: li for li in option.line_items}


# --- managed API ------------------------------------------------------------------------------


def test_managed_prompt_cache_bills_each_input_token_once_at_its_price(tmp_path):
    # Claude Sonnet 4.5 in-region prices (us-east-1): input 3.30, cache read 0.33,
    # cache write 4.125, output 16.50 USD per 1M tokens.
    # 262.8 M input tokens: 30 % uncached x 3.30 + 60 % read x 0.33 + 10 % written x 4.125
    #   = 78.84 x 3.30 + 157.68 x 0.33 + 26.28 x 4.125 = 260.172 + 52.0344 + 108.405 = 420.6114
    # 131.4 M output tokens x 16.50 = 2,168.10
    o = priced(tmp_path, """
        api:
          kind: managed_api
          model: anthropic.claude-sonnet-4-5-20250929-v1:0
          prompt_cache: {read_fraction: 0.6, write_fraction: 0.1}
    """)["api"]
    assert_allclose(o.monthly_usd, 260.172 + 52.0344 + 108.405 + 2168.10)
    assert_allclose(items(o)["anthropic.claude-sonnet-4-5-20250929-v1:0 prompt-cache reads"].quantity,
                    157.68)


def test_managed_batch_fraction_uses_batch_prices(tmp_path):
    # Llama 3.1 8B: 0.22 on demand, 0.11 batch (both directions). Half the requests in batch:
    # 394.2 M tokens x (0.5 x 0.22 + 0.5 x 0.11) = 394.2 x 0.165 = 65.043
    o = priced(tmp_path, """
        api: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0, batch_fraction: 0.5}
    """)["api"]
    assert_allclose(o.monthly_usd, 394.2 * 0.165)


def test_managed_quota_reports_the_throttled_share(tmp_path):
    # A steady 1 rps = 60 requests/minute against a 45 per minute quota: 15/60 = 25 % throttled.
    o = priced(tmp_path, """
        api: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0,
              quota: {requests_per_minute: 45}}
    """)["api"]
    assert_allclose(o.details["throttled_fraction"], 0.25)


def test_cache_fractions_above_one_are_rejected(tmp_path):
    with pytest.raises(CostlibError, match="cannot exceed 1"):
        priced(tmp_path, """
            api: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0,
                  prompt_cache: {read_fraction: 0.8, write_fraction: 0.3}}
        """)


# --- provisioned throughput ------------------------------------------------------------------

PROVISIONED = """
    pt:
      kind: provisioned
      model: meta.llama3-1-8b-instruct-v1:0
      tokens_per_minute_per_model_unit: 6000
      usd_per_model_unit_hour: 20
"""


def test_provisioned_units_sized_for_peak_bill_every_hour(tmp_path):
    # 150 tokens/s = 9,000 tokens/min over 6,000 per unit = 1.5 -> 2 units; 2 x 730 h x 20 USD
    o = priced(tmp_path, PROVISIONED)["pt"]
    assert o.details["model_units"] == 2
    assert_allclose(o.monthly_usd, 2 * 730 * 20)
    assert o.details["spilled_fraction"] == 0


def test_provisioned_business_hours_spill_the_rest_to_on_demand(tmp_path):
    # On 9-17 UTC Monday-Friday: 40 of 168 hours. Units bill 730 x 40/168 = 173.8095 h each:
    #   2 x 173.8095 x 20 = 6,952.381 USD.
    # Off-hours requests 2,628,000 x 128/168 = 2,002,285.7, at 150 tokens x 0.22 per 1M:
    #   2,002,285.7 x 150 / 1e6 x 0.22 = 66.0754 USD.
    o = priced(tmp_path, PROVISIONED + "      schedule: {hours: [9, 17]}\n")["pt"]
    assert_allclose(o.details["provisioned_hours_per_month"], 730 * 40 / 168)
    assert_allclose(o.monthly_usd, 2 * 730 * 40 / 168 * 20 + REQS * 128 / 168 * 150 / 1e6 * 0.22)
    assert_allclose(o.details["spilled_fraction"], 128 / 168)


def test_provisioned_commitment_cannot_be_scheduled(tmp_path):
    with pytest.raises(CostlibError, match="no_commit"):
        priced(tmp_path, PROVISIONED + "      term: 1_month\n      schedule: {hours: [9, 17]}\n")


def test_provisioned_without_a_sourced_price_names_what_is_missing(tmp_path):
    # No provisioned-throughput price is published for Llama 3.1 8B: the error says so.
    with pytest.raises(CostlibError, match="pt_no_commit"):
        priced(tmp_path, PROVISIONED.replace("      usd_per_model_unit_hour: 20\n", ""))


# --- self-hosted -----------------------------------------------------------------------------

FLEET = """
    fleet:
      kind: self_hosted
      platform: eks
      instance: g5.xlarge
      batch_size: 2
      tokens_per_second_per_instance: 100
      ebs_gb_per_instance: 100
      image_gb: 10
      eks_cluster_share: 0.5
      operations: {engineer_hours_per_month: 10, usd_per_engineer_hour: 120}
"""


def test_self_hosted_line_items_by_hand(tmp_path):
    # 150 tokens/s / (100 x 2) = 0.75 -> 1 g5.xlarge all month: 730 h x 1.006 = 734.38
    # EBS gp3 100 GB x 0.08 = 8.00; ECR 10 GB x 0.10 = 1.00; EKS 730 h x 0.5 x 0.10 = 36.50;
    # engineers 10 h x 120 = 1,200.00
    o = priced(tmp_path, FLEET)["fleet"]
    got = {li.item: li.monthly_usd for li in o.line_items}
    assert_allclose(got["g5.xlarge instance-hours (fixed)"], 734.38)
    assert_allclose(got["EBS gp3 volumes"], 8.0)
    assert_allclose(got["ECR image storage"], 1.0)
    assert_allclose(got["EKS control plane"], 36.5)
    assert_allclose(got["engineer time to keep it up"], 1200.0)
    assert o.details["throughput_source"] == "params"
    assert_allclose(o.details["utilisation"], 0.75)


def test_self_hosted_spot_discount_and_replacements(tmp_path):
    # 60 % off 1.006 = 0.4024 USD/h; 730 h -> 293.752. One instance-month at 3 interruptions
    # per instance-month x 10 min cold start = 0.5 h of replacements booting = 0.2012 USD.
    o = priced(tmp_path, FLEET.replace(
        "      operations: {engineer_hours_per_month: 10, usd_per_engineer_hour: 120}\n",
        "      spot_discount_pct: 60\n"
        "      fleet: {spot: {interruptions_per_instance_month: 3, "
        "in_flight_requests_per_instance: 2}}\n"))["fleet"]
    got = {li.item: li for li in o.line_items}
    assert_allclose(got["g5.xlarge instance-hours (fixed)"].unit_usd, 0.4024)
    assert_allclose(got["g5.xlarge instance-hours (fixed)"].monthly_usd, 293.752)
    spot = got["g5.xlarge spot replacements booting"]
    assert spot.category == "failures"
    assert_allclose(spot.quantity, 0.5)


def test_spot_without_a_discount_is_an_error(tmp_path):
    with pytest.raises(CostlibError, match="spot_discount_pct"):
        priced(tmp_path, FLEET + "      fleet: {spot: {interruptions_per_instance_month: 1, "
                                 "in_flight_requests_per_instance: 1}}\n")


def test_self_hosted_on_sagemaker_uses_ml_prices_and_no_eks(tmp_path):
    # ml.g5.xlarge 1.4084 USD/h x 730 = 1,028.132; no EBS line, no EKS control plane
    o = priced(tmp_path, FLEET.replace("platform: eks", "platform: sagemaker"))["fleet"]
    got = {li.item: li.monthly_usd for li in o.line_items}
    assert_allclose(got["g5.xlarge instance-hours (fixed)"], 730 * 1.4084)
    assert "EKS control plane" not in got and "EBS gp3 volumes" not in got


def test_given_batch_size_wins_over_the_throughput_model(tmp_path):
    o = priced(tmp_path, """
        fleet: {kind: self_hosted, instance: g5.xlarge, model: llama-3.1-8b, batch_size: 2}
    """)["fleet"]
    assert o.details["batch_size"] == 2
    assert o.details["batch_source"] == "params"
    assert o.details["throughput_source"] == "model"


def test_throughput_without_batch_is_an_error(tmp_path):
    with pytest.raises(CostlibError, match="without batch_size"):
        priced(tmp_path, """
            fleet: {kind: self_hosted, instance: g5.xlarge, tokens_per_second_per_instance: 10}
        """)


# --- router ----------------------------------------------------------------------------------


def test_router_prices_cache_classifier_and_routes_at_their_share(tmp_path):
    # Cached answer = 50 tokens x 4 bytes = 0.2 KB: 1 read unit (eventually consistent: 0.5),
    # 1 write unit. Half the requests hit.
    #   reads  2.628 M x 0.5 RRU = 1.314 M x 0.125 = 0.16425
    #   writes 2.628 M x 0.5 misses x 1 WRU = 1.314 M x 0.625 = 0.82125
    #   classifier 20 tokens on every request: 52.56 M x 0.22 = 11.5632
    #   route: the misses (50 %) to Llama 3.1 8B: 0.5 x 394.2 M tokens x 0.22 = 43.362
    got = priced(tmp_path, """
        small: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0}
        router:
          kind: router
          cache: {hit_fraction: 0.5}
          classifier: {model: meta.llama3-1-8b-instruct-v1:0, tokens_per_request: 20}
          routes: [{to: small, share: 1.0}]
    """)
    router = got["router"]
    assert_allclose(router.monthly_usd, 0.16425 + 0.82125 + 11.5632 + 43.362)
    assert_allclose(got["small"].monthly_usd, 394.2 * 0.22)


@pytest.mark.parametrize("item_kb, rru, wru", [
    # 4 KB = 4,096 bytes: 1 read unit (0.5 eventually consistent), 4 write units
    (4.0, 0.5, 4.0),
    # 1 KB = 1,024 bytes: 1 write unit (with KB = 1,000 bytes this was billed as 2)
    (1.0, 0.5, 1.0),
    # 4.01 KB = 4,106 bytes: 2 read units (1 eventually consistent), 5 write units
    (4.01, 1.0, 5.0),
])
def test_router_cache_request_units_use_kb_of_1024_bytes(tmp_path, item_kb, rru, wru):
    # DynamoDB developer guide: a read unit covers an item up to 4 KB, a write unit up to 1 KB.
    # All misses (hit 0): reads 2.628 M x rru, writes 2.628 M x wru request units.
    got = priced(tmp_path, f"""
        small: {{kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0}}
        router:
          kind: router
          cache: {{hit_fraction: 0.0, item_kb: {item_kb}}}
          routes: [{{to: small, share: 1.0}}]
    """)
    its = items(got["router"])
    assert_allclose(its["response-cache lookups (DynamoDB reads)"].quantity, 2.628 * rru)
    assert_allclose(its["response-cache fills on misses (DynamoDB writes)"].quantity, 2.628 * wru)


def test_router_cache_default_item_is_out_tokens_times_4_bytes(tmp_path):
    # out_tokens 256 x 4 bytes = 1,024 bytes = 1 KB: 1 write unit per fill (2 when a KB was
    # taken as 1,000 bytes); all misses: 2.628 M write units
    path = tmp_path / "p.yaml"
    path.write_text(HEAD.replace("out_tokens: 50", "out_tokens: 256") + textwrap.indent(
        textwrap.dedent("""
        small: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0}
        router: {kind: router, cache: {hit_fraction: 0.0}, routes: [{to: small, share: 1.0}]}
        """), "  "))
    router = {o.name: o for o in estimate(load_params(path)).options}["router"]
    assert_allclose(items(router)["response-cache fills on misses (DynamoDB writes)"].quantity,
                    2.628)


def test_router_shares_must_add_up_to_one(tmp_path):
    with pytest.raises(CostlibError, match="add up to 1"):
        priced(tmp_path, """
            small: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0}
            router: {kind: router, routes: [{to: small, share: 0.5}]}
        """)


def test_router_to_an_unknown_option_suggests_names(tmp_path):
    with pytest.raises(CostlibError, match="small"):
        priced(tmp_path, """
            small: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0}
            router: {kind: router, routes: [{to: smal, share: 1.0}]}
        """)


def test_router_loop_is_an_error(tmp_path):
    with pytest.raises(CostlibError, match="loop"):
        priced(tmp_path, """
            a: {kind: router, routes: [{to: b, share: 1.0}]}
            b: {kind: router, routes: [{to: a, share: 1.0}]}
        """)


# --- renamed keys -----------------------------------------------------------------------------


def test_old_instance_hour_cost_key_says_how_to_migrate(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent("""
        fleet: {kind: self_hosted, platform: ec2, instance: g5.xlarge, batch_size: 2,
                tokens_per_second_per_instance: 100, instance_hour_cost: 1.006}
    """), "  "))
    with pytest.raises(CostlibError) as err:
        load_params(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == (f"{path}: options.fleet: instance_hour_cost was renamed: use "
                   "usd_per_instance_hour")


def test_new_usd_per_instance_hour_key_prices_the_fleet(tmp_path):
    # 1 instance all month (steady 1 rps, 150 tokens/request, capacity 100 x 2 = 200 tokens/s)
    # at the given 1.006 USD/h: 730 x 1.006 = 734.38 USD
    o = priced(tmp_path, """
        fleet: {kind: self_hosted, platform: ec2, instance: g5.xlarge, batch_size: 2,
                tokens_per_second_per_instance: 100, usd_per_instance_hour: 1.006,
                ebs_gb_per_instance: 0, image_gb: 0}
    """)["fleet"]
    hours = [li for li in o.line_items if li.unit == "instance-hour"][0]
    assert hours.unit_usd == 1.006 and hours.source == "params file"
    assert_allclose(hours.monthly_usd, 730 * 1.006)
