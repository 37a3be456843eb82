"""Lessons 04 (retrieval) and 05 (network): the functions their notebooks call.

Oracles are hand calculations from the price rows the params file's price book holds (a NAT
gateway is gateways x 730 h x the gateway-hour price, and so on), or properties (a curve's point
at the params file's traffic is the estimate's own line item); never pasted outputs.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import pytest
from IPython.display import Markdown
from numpy.testing import assert_allclose

from costlib.core.paths import PARAMS_DIR
from costlib.core.units import HOURS_PER_MONTH
from costlib.lessons import charts, network, retrieval, start
from costlib.tables.prices import load_price_book


def _book(params):
    return load_price_book(params.prices.model_copy(update={"region": params.region}),
                           base_dir=PARAMS_DIR)


@pytest.fixture(scope="module")
def default():
    return start(PARAMS_DIR / "default.yaml", "svg")


@pytest.fixture(scope="module")
def rag():
    return start(PARAMS_DIR / "rag_plumbing.yaml", "svg")


@pytest.fixture(scope="module", params=["default.yaml", "rag_plumbing.yaml",
                                        "scenario_c_cached_rag.yaml"])
def any_file(request):
    return start(PARAMS_DIR / request.param, "svg")


def _is_chart(x) -> bool:
    return isinstance(x, (alt.Chart, alt.LayerChart, alt.HConcatChart, alt.FacetChart))


# --------------------------------------------------------------------------------------------
# lesson 05: network


def test_network_prices_are_the_price_rows(rag):
    params, _ = rag
    book = _book(params)
    p = network.network_prices(params)
    assert p.nat_hour == book.usd("nat_gateway", "nat_gateway", "hour")
    assert p.endpoint_hour == book.usd("vpc_endpoint", "interface_endpoint", "hour")
    assert p.cross_az_gb == book.usd("data_transfer", "cross_az", "each_direction")
    assert list(network.prices_table(p).columns) == ["usd", "unit"]


def test_nat_hours_are_gateways_times_hours_times_price(any_file):
    params, _ = any_file
    p = network.network_prices(params)
    azs = params.network.availability_zones
    table = network.nat_vs_privatelink(params)
    # one gateway and one public IPv4 address per AZ, all month
    assert_allclose(table["nat_hourly_usd"], azs * HOURS_PER_MONTH * (p.nat_hour + p.ipv4_hour))
    # one endpoint per service per AZ, all month
    for option in params.options:
        services = network.endpoint_services(params, option)
        assert_allclose(table.loc[option, "endpoints_hourly_usd"],
                        len(services) * azs * HOURS_PER_MONTH * p.endpoint_hour)
    assert_allclose(table["saving_usd"],
                    table["network_nat_usd"] - table["network_privatelink_usd"])


def test_nat_per_gb_is_the_nat_hops_volume_times_price(rag):
    params, _ = rag
    p = network.network_prices(params)
    hops = network.hops_table(params)
    table = network.nat_vs_privatelink(params)
    for option in params.options:
        nat_gb = hops[(hops["option"] == option) & (hops["path"] == "nat")]["gb_per_month"].sum()
        assert_allclose(table.loc[option, "nat_per_gb_usd"], nat_gb * p.nat_gb, rtol=1e-9)


def test_hops_bytes_match_the_estimates_nat_items(rag):
    params, result = rag
    hops = network.hops_table(params)
    frame = result.to_frame()
    for option in params.options:
        items = frame[(frame["option"] == option)
                      & frame["item"].str.endswith("NAT gateway data processed")]
        nat = hops[(hops["option"] == option) & (hops["path"] == "nat")]
        assert_allclose(nat["gb_per_month"].sum(), items["quantity"].sum(), rtol=1e-9)
    # retrieval on: every option makes an embedding and a vector-store hop
    assert hops["hop"].str.contains("embeddings").any()
    assert hops["hop"].str.contains("k-NN").any()


def test_default_has_no_retrieval_hops_and_says_so(default):
    params, _ = default
    hops = network.hops_table(params)
    assert not hops["hop"].str.contains("embeddings|k-NN").any()
    status = network.network_status(params)
    assert isinstance(status, Markdown) and "Retrieval is off" in status.data


def test_network_charges_sum_to_the_network_category(any_file):
    params, result = any_file
    charges = network.network_charges(result)
    assert set(charges["charge"]) == set(network.CHARGES)
    frame = result.to_frame()
    for o in result.options:
        net = frame[(frame["option"] == o.name) & (frame["category"] == "network")]
        assert_allclose(charges[charges["option"] == o.name]["monthly_usd"].sum(),
                        net["monthly_usd"].sum())
    assert network.charges_table(charges).loc["network total"].notna().all()


@pytest.mark.parametrize("item, charge", [
    ("NAT gateways (2, one per AZ)", "NAT gateway, by the hour"),
    ("NAT gateway public IPv4 addresses", "NAT gateway, by the hour"),
    ("app -> Bedrock runtime (model): NAT gateway data processed", "NAT gateway, per GB"),
    ("interface endpoints (bedrock-runtime, logs) x 2 AZs", "PrivateLink endpoints, by the hour"),
    ("app -> CloudWatch Logs: interface endpoint data processed", "PrivateLink endpoints, per GB"),
    ("app -> self-hosted model fleet: cross-AZ transfer (50% of bytes, billed both ways)",
     "cross-AZ transfer"),
    ("client <-> entry (internet): data transfer out to the internet", "internet egress"),
    ("ALB capacity units", "entry point"),
    ("API Gateway http api requests", "entry point"),
])
def test_charge_of(item, charge):
    assert network.charge_of(item) == charge


def test_breakeven_gb_by_hand():
    # 2 AZs, endpoint 0.01 USD per AZ-hour and 0.01 USD/GB, NAT 0.045 USD/h and 0.045 USD/GB,
    # public IPv4 0.005 USD/h: one endpoint costs 2 x 730 x 0.01 = 14.60 USD a month and saves
    # 0.035 USD/GB while the gateways stay: 14.60 / 0.035 = 417.14 GB
    p = network.NetworkPrices(nat_hour=0.045, nat_gb=0.045, ipv4_hour=0.005, endpoint_hour=0.01,
                              endpoint_gb=0.01, cross_az_gb=0.01, alb_hour=0.0225,
                              alb_lcu_hour=0.008, http_api_1m=1.0, rest_api_1m=3.5)
    assert_allclose(network.breakeven_gb(p, 2, 1, nat_stays=True), 14.6 / 0.035)
    # replacing 2 gateways (2 x 730 x 0.05 = 73 USD) with 1 endpoint: cheaper at any volume
    assert network.breakeven_gb(p, 2, 1, nat_stays=False) == 0.0
    # with 6 services: 6 x 2 x 7.30 = 87.60 USD against 73 USD: (87.6 - 73) / 0.035 GB
    g = network.breakeven_gb(p, 2, 6, nat_stays=False)
    assert_allclose(g, (87.6 - 73.0) / 0.035)
    # at the break-even both ways cost the same
    assert_allclose(6 * 2 * 730 * 0.01 + g * 0.01, 73.0 + g * 0.045)
    same = network.NetworkPrices(**{**p.__dict__, "endpoint_gb": 0.045})
    assert network.breakeven_gb(same, 2, 1) == math.inf


def test_one_more_az_costs_a_gateway_and_two_addresses(default):
    params, _ = default
    p = network.network_prices(params)
    # ALB entry: one more NAT gateway and its address, and one more ALB address
    hand = HOURS_PER_MONTH * (p.nat_hour + 2 * p.ipv4_hour)
    answer = network.answer_one_more_az(params).data
    assert f"{hand:,.2f} USD" in answer
    assert answer.count(f"**{hand:,.2f} USD a month**") == len(params.options)


def test_crossover_curve_at_the_files_traffic_is_the_estimate(default):
    params, _ = default
    curve = network.crossover_curve(params, [0.5, 1.0, 2.0])
    table = network.nat_vs_privatelink(params)
    option = "bedrock_llama31_70b"  # the first managed option
    nat = curve[(curve["path"] == "nat") & (curve["factor"] == 1.0)]["monthly_usd"].iloc[0]
    assert_allclose(nat, table.loc[option, "nat_hourly_usd"] + table.loc[option, "nat_per_gb_usd"])
    for path in ("nat", "privatelink"):
        rows = curve[curve["path"] == path]
        assert rows["gb_per_month"].is_monotonic_increasing
        assert rows["monthly_usd"].is_monotonic_increasing
    assert "cheaper" in network.crossover_note(params).data


def test_entry_curve_api_gateway_is_requests_times_price(rag):
    params, result = rag
    curve = network.entry_curve(params, [0.5, 1.0])
    p = network.network_prices(params)
    http = curve[curve["entry"] == network.ENTRIES["api_gateway_http"]]
    assert_allclose(http["monthly_usd"], http["requests_per_month"] / 1e6 * p.http_api_1m)
    alb = curve[curve["entry"] == network.ENTRIES["alb"]]
    # at least the hourly charge and one public IPv4 address per AZ
    floor = HOURS_PER_MONTH * (p.alb_hour + params.network.availability_zones * p.ipv4_hour)
    assert (alb["monthly_usd"] > floor).all()
    assert_allclose(alb["requests_per_month"].iloc[1], result.workload["requests_per_month"])


def test_api_gateway_crossing_is_where_the_costs_meet(default):
    params, _ = default
    answer = network.answer_api_gateway(params).data
    # "... above about **31.1 million requests a month** ..."
    millions = float(answer.split("about **")[1].split(" million")[0].replace(",", ""))
    factor = millions * 1e6 / (params.workload.avg_rps * HOURS_PER_MONTH * 3600)
    curve = network.entry_curve(params, [factor])
    costs = curve.set_index("entry")["monthly_usd"]
    assert_allclose(costs[network.ENTRIES["api_gateway_http"]], costs[network.ENTRIES["alb"]],
                    rtol=0.01)


def test_same_az_saves_only_where_a_call_crosses(any_file):
    params, _ = any_file
    answer = network.answer_same_az(params).data
    hosted = any(o.kind == "self_hosted" for o in params.options.values())
    assert ("saves nothing here" in answer) == (not hosted)


def test_network_charts_use_the_palette(rag):
    params, result = rag
    hops = network.hops_table(params)
    assert network.hops_chart(hops).to_dict()["mark"]["color"] == charts.CATEGORY_COLORS["network"]
    nat = network.nat_chart(network.nat_vs_privatelink(params)).to_dict()
    assert nat["encoding"]["color"]["scale"]["range"] == list(charts.CASE_COLORS.values())
    for chart in (network.charges_chart(network.network_charges(result)),
                  network.crossover_chart(network.crossover_curve(params, [1.0, 2.0])),
                  network.entry_chart(network.entry_curve(params, [1.0, 2.0]), 1e6)):
        assert _is_chart(chart) and chart.to_dict()
    assert isinstance(network.network_block(params), pd.DataFrame)
    assert "not set (default)" in set(network.network_block(params)["value"])


# --------------------------------------------------------------------------------------------
# lesson 04: retrieval


def test_retrieval_case_switches_retrieval_on_only_when_off(default, rag):
    off = retrieval.retrieval_case(default)
    assert off.switched_on and off.params.retrieval.enabled
    assert "**off**" in retrieval.retrieval_status(off).data
    on = retrieval.retrieval_case(rag)
    assert not on.switched_on and on.result is rag.result
    assert retrieval.retrieval_status(on).data.startswith("Retrieval is on")


def test_context_tokens_by_hand(rag):
    # 5 chunks x 400 tokens x all kept = 2,000 tokens (params/rag_plumbing.yaml)
    assert retrieval.context_tokens(rag.params) == 5 * 400 * 1.0


def test_ocu_floor_is_ocus_times_hours_times_price(rag):
    case = retrieval.retrieval_case(rag)
    price = _book(rag.params).usd("opensearch_serverless", "classic", "ocu_hour")
    items = retrieval.retrieval_items(case.result)
    ocu = items[items["item"].str.startswith("OpenSearch Serverless OCUs")]
    # 2 OCUs (1 indexing + 1 search, standby replicas on) x 730 h x the OCU-hour price
    assert_allclose(ocu["monthly_usd"].iloc[0], 2 * HOURS_PER_MONTH * price)
    assert f"{2 * HOURS_PER_MONTH * price:,.2f} USD a month" in retrieval.answer_ocu_floor(case).data


def test_aoss_floor_chunks_by_hand(rag):
    # HNSW: 1.1 x (4 x 1,024 + 8 x 16) = 4,646.4 bytes per vector; with redundancy 2 search
    # replicas share 1 search OCU of 6 GiB x 0.5 = 3 GiB, so the index may be 1.5 GiB:
    # 1.5 x 2**30 / 4,646.4 = 346,636.6 -> 346,636 chunks
    assert retrieval.aoss_floor_chunks(rag.params) == math.floor(1.5 * 2**30 / 4646.4)


def test_retrieval_items_sum_to_the_category(any_file):
    case = retrieval.retrieval_case(any_file)
    items = retrieval.retrieval_items(case.result)
    frame = case.result.to_frame()
    first = frame["option"].iloc[0]
    cat = frame[(frame["option"] == first) & (frame["category"] == "retrieval")]
    assert_allclose(items["monthly_usd"].sum(), cat["monthly_usd"].sum())
    assert set(items["part"]) <= set(retrieval.PARTS)
    assert "Retrieval costs" in retrieval.retrieval_note(case, items).data


def test_context_curve_managed_slope_is_tokens_times_input_price(default):
    case = retrieval.retrieval_case(default)
    curve = retrieval.context_curve(case, (0.0, 1.0))
    bedrock = curve[curve["option"] == "bedrock_llama31_70b"].set_index("context_tokens")
    price = _book(default.params).usd("bedrock", "meta.llama3-1-70b-instruct-v1:0", "input")
    reqs = case.result.workload["requests_per_month"]
    # 2,000 more input tokens per request x requests / 1e6 x USD per 1M input tokens
    assert_allclose(bedrock.loc[2000.0, "inference_usd"] - bedrock.loc[0.0, "inference_usd"],
                    reqs * 2000 / 1e6 * price, rtol=1e-9)
    for _, rows in curve.groupby("option"):
        assert rows.sort_values("context_tokens")["inference_usd"].is_monotonic_increasing


def test_context_table_with_minus_without(default):
    case = retrieval.retrieval_case(default)
    table = retrieval.context_table(case)
    assert_allclose(table["context_usd"], table["inference_with_usd"] - table["inference_without_usd"])
    hosted = table.dropna(subset=["instances_p95_with"])
    assert len(hosted) == 2
    assert (hosted["instances_p95_with"] >= hosted["instances_p95_without"]).all()
    assert (hosted["rps_per_instance_with"] < hosted["rps_per_instance_without"]).all()
    assert "requests/s" in retrieval.context_note(case, table).data


def test_processing_costs_by_hand(rag):
    case = retrieval.retrieval_case(rag)
    book = _book(rag.params)
    c = retrieval.processing_costs(case)
    reqs = case.result.workload["requests_per_month"]
    # Lambda: requests / 1e6 x price per 1M + requests x 1 GB x 0.2 s x price per GB-second
    gb_s = reqs * 1.0 * 0.2
    lam = reqs / 1e6 * book.usd("lambda", "function_x86", "requests") \
        + float(book.tiered_usd("lambda", "function_x86", "duration", gb_s))
    assert_allclose(c["lambda_usd"], lam, rtol=1e-9)
    # Fargate: 2 tasks x 730 h x (1 vCPU x vCPU-hour + 2 GB x GB-hour)
    far = 2 * HOURS_PER_MONTH * (book.usd("fargate", "linux_x86", "vcpu_hour")
                                 + 2 * book.usd("fargate", "linux_x86", "gb_hour"))
    assert_allclose(c["fargate_usd"], far, rtol=1e-9)
    assert_allclose(c["breakeven_requests"], far / (lam / reqs))


def test_store_curve_floors_and_growth(rag):
    case = retrieval.retrieval_case(rag)
    curve = retrieval.store_curve(case, [1e4, 1e5, 1e6, 1e7])
    price = _book(rag.params).usd("opensearch_serverless", "classic", "ocu_hour")
    aoss = curve[curve["store"] == retrieval.STORES["opensearch_serverless"]]
    # below the floor's corpus only storage moves: the first two points are the floor
    assert_allclose(aoss["monthly_usd"].iloc[:2], 2 * HOURS_PER_MONTH * price, rtol=1e-3)
    for _, rows in curve.dropna(subset=["monthly_usd"]).groupby("store"):
        assert rows["monthly_usd"].is_monotonic_increasing
    # a store the tables cannot price says why instead of failing
    assert (curve["monthly_usd"].notna() | (curve["note"] != "")).all()
    assert "At this corpus" in retrieval.store_note(case).data


def test_half_context_and_dims_answers(rag):
    case = retrieval.retrieval_case(rag)
    half = retrieval.answer_half_context(case).data
    assert half.count("less") == len(rag.params.options)
    assert "256-dimension" in retrieval.answer_dims(case).data
    assert "million requests a month" in retrieval.answer_processing_breakeven(case).data


def test_retrieval_charts_use_the_palette(rag):
    case = retrieval.retrieval_case(rag)
    items = retrieval.retrieval_items(case.result)
    spec = retrieval.retrieval_chart(items).to_dict()
    assert spec["mark"]["color"] == charts.CATEGORY_COLORS["retrieval"]
    ctx = retrieval.context_chart(retrieval.context_curve(case, (0.0, 1.0))).to_dict()
    assert ctx["mark"]["color"] == charts.CATEGORY_COLORS["inference"]
    for chart in (retrieval.store_chart(retrieval.store_curve(case, [1e4, 1e6]), 2e5),
                  retrieval.processing_chart(retrieval.processing_curve(case, [0.5, 1.0]), 1e6)):
        assert _is_chart(chart) and chart.to_dict()
    block = retrieval.retrieval_block(case.params)
    assert block.loc["enabled", "value"] == "True"


def test_retrieval_case_leaves_out_options_the_longer_prompt_cannot_serve():
    # scenario A's g5 fleets meet a 2 s p95 first-token bound at its own prompt; 2,000 more
    # tokens of context put one request alone above it, so the lesson names and drops them
    from costlib.core.paths import PARAMS_DIR
    from costlib.lessons import start
    from costlib.lessons.retrieval import retrieval_case, retrieval_status

    lesson = start(PARAMS_DIR / "scenario_a_bursty.yaml", "svg")
    case = retrieval_case(lesson)
    dropped = dict(case.dropped)
    assert set(dropped) == {n for n, o in lesson.params.options.items() if o.kind == "self_hosted"}
    assert all("latency bounds" in m for m in dropped.values())
    assert set(case.params.options).isdisjoint(dropped)
    assert all(f"**{n}** cannot be priced" in retrieval_status(case).data for n in dropped)
