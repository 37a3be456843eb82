"""Tests of costlib.bill.plumbing.network: hops, NAT, PrivateLink, cross-AZ, ALB."""

from __future__ import annotations

from pathlib import Path

import pytest

from costlib.bill.options import PRICERS
from costlib.bill.context import Context
from costlib.bill.params import Params
from costlib.bill.plumbing import Plumbing, extra_input_tokens, price_plumbing
from costlib.bill.plumbing.network import NetworkSettings, price_network
from costlib.tables.prices import load_price_book
from costlib.formulas.traffic import TrafficShape, build_profile

FIXTURE_PRICES = Path(__file__).parent / "fixtures" / "prices"
BOOK = load_price_book(tables_dir=FIXTURE_PRICES, genai_import=False)  # tests/fixtures/prices
GB = 2**30
MONTH_S = 730 * 3600  # 2,628,000 s


def ctx_for(params: dict, avg_rps: float) -> tuple[Context, object]:
    p = Params.model_validate(params)
    profile = build_profile(TrafficShape(shape="steady"), avg_rps=avg_rps)
    return Context(params=p, profile=profile, prices=BOOK, base_dir=Path(".")), p


def managed(in_tokens, out_tokens, rps, model="meta.llama3-1-8b-instruct-v1:0"):
    return ctx_for({"workload": {"in_tokens": in_tokens, "out_tokens": out_tokens, "avg_rps": rps,
                                 "p95_latency_ms": 1000},
                    "options": {"m": {"kind": "managed_api", "model": model}}}, rps)


def by_item(items, text):
    return [li for li in items if text in li.item]


def test_price_network_nat_hand_calc():
    # 1 rps steady = 2,628,000 requests/month. Overheads off, streamed bytes = text bytes:
    # app -> Bedrock: 1000 tokens x 4 + 100 tokens x 4 = 4,400 bytes per request
    # 4400 x 2,628,000 / 2**30 = 10.7691 GB through NAT at 0.045 USD/GB
    ctx, p = managed(1000, 100, 1.0)
    s = NetworkSettings(entry="none", request_overhead_bytes=0, stream_bytes_per_output_token=4)
    items = price_network(s, ctx, p.options["m"], None)
    nat = by_item(items, "Bedrock runtime (model): NAT")[0]
    assert nat.quantity == pytest.approx(4400 * MONTH_S / GB)
    assert nat.unit_usd == pytest.approx(0.045)
    # two NAT gateways all month: 2 x 730 = 1,460 gateway-hours at 0.045 = 65.70 USD
    hours = by_item(items, "NAT gateways")[0]
    assert hours.monthly_usd == pytest.approx(65.70)


def test_price_network_privatelink_replaces_nat():
    # aws_path privatelink: no NAT at all; endpoints for bedrock-runtime and logs in 2 AZs:
    # 2 x 2 x 730 = 2,920 endpoint-AZ-hours x 0.01 = 29.20 USD; 10.7691 GB x 0.01 (first tier)
    ctx, p = managed(1000, 100, 1.0)
    s = NetworkSettings(entry="none", aws_path="privatelink", request_overhead_bytes=0,
                        stream_bytes_per_output_token=4)
    items = price_network(s, ctx, p.options["m"], None, log_bytes_per_request=1024)
    assert not by_item(items, "NAT")
    ep = by_item(items, "interface endpoints")[0]
    assert ep.quantity == pytest.approx(2920.0)
    assert ep.monthly_usd == pytest.approx(29.20)
    model = by_item(items, "Bedrock runtime (model)")[0]
    assert model.quantity == pytest.approx(4400 * MONTH_S / GB)
    assert model.unit_usd == pytest.approx(0.01)


def test_price_network_self_hosted_cross_az_fraction():
    # A self-hosted fleet is in the VPC: no NAT for the model hop, cross-AZ for the share of
    # calls crossing. 4,400 bytes x 2,628,000 / 2**30 = 10.7691 GB; half across -> billed
    # 2 x 10.7691 x 0.5 = 10.7691 GB at 0.01 USD = 0.1077 USD; same-AZ (0) -> 0
    ctx, p = ctx_for({"workload": {"in_tokens": 1000, "out_tokens": 100, "avg_rps": 1,
                                   "p95_latency_ms": 1000},
                      "options": {"f": {"kind": "self_hosted", "instance": "g5.xlarge",
                                        "tokens_per_second_per_instance": 100,
                                        "batch_size": 4}}}, 1.0)
    for frac in (0.5, 0.0):
        s = NetworkSettings(entry="none", request_overhead_bytes=0, stream_bytes_per_output_token=4,
                            model_cross_az_fraction=frac)
        items = price_network(s, ctx, p.options["f"], None)
        hop = by_item(items, "self-hosted model fleet")[0]
        assert hop.quantity == pytest.approx(2 * 4400 * MONTH_S / GB * frac)
        assert hop.unit_usd == pytest.approx(0.01)


def test_price_network_internet_egress_first_100_gb_free():
    # client egress: 500 tokens x 100 bytes = 50,000 bytes x 2,628,000 = 122.38 GB out;
    # first 100 GB free, the rest at 0.09: (122.38 - 100) x 0.09 = 2.0145 USD
    ctx, p = managed(1000, 500, 1.0)
    items = price_network(NetworkSettings(), ctx, p.options["m"], None)
    egress = by_item(items, "internet")[0]
    gb = 50_000 * MONTH_S / GB
    assert egress.quantity == pytest.approx(gb)
    assert egress.monthly_usd == pytest.approx((gb - 100) * 0.09)


def _rag_total(rps, network, model="amazon.nova-micro-v1:0"):
    plumbing = Plumbing(retrieval={"enabled": True, "vector_store": {"kind": "aurora_pgvector"}},
                        network=network)
    ctx, p = managed(1500 + extra_input_tokens(plumbing), 400, rps, model)
    opt = p.options["m"]
    outcome = PRICERS[opt.kind]("m", opt, ctx)
    items = outcome.line_items + price_plumbing(plumbing, ctx, opt, outcome)
    return sum(li.monthly_usd for li in items), sum(li.monthly_usd for li in items
                                                   if li.category == "network")


@pytest.mark.parametrize("rps", [0.5, 2.0])
def test_nat_and_az_levers_swing_of_a_text_rag_scenario(rps):
    # Scenario (stated): an internal RAG assistant, Amazon Nova Micro on Bedrock on demand,
    # 1,500 prompt + 2,000 retrieved tokens in, 400 out, 0.5 or 2 rps steady, Titan V2
    # embeddings, Aurora pgvector (0.5 ACU), ALB, 2 AZs. Baseline: AWS APIs over NAT, vector
    # store and app spread over 2 AZs; levers: PrivateLink + same-AZ placement.
    # What holds: both levers cut the total, only through the network category.
    # What does NOT hold for text payloads: a >= 30 % swing. A 3,900-token request moves
    # ~60 KB (4 bytes per prompt token, ~100 per streamed output token); NAT at 0.045 USD/GB
    # charges ~2.7e-6 USD for it against ~1.8e-4 USD of Nova Micro tokens. The swing comes
    # from the NAT gateways' fixed 73 USD/month (2 x 730 x (0.045 + 0.005)) against 29.2 USD
    # of endpoints (2 services x 2 AZs x 730 x 0.01), so it shrinks as traffic grows.
    before, net_before = _rag_total(rps, NetworkSettings())
    after, net_after = _rag_total(rps, NetworkSettings(aws_path="privatelink",
                                                       vector_store_cross_az_fraction=0.0,
                                                       model_cross_az_fraction=0.0))
    assert after < before
    assert before - after == pytest.approx(net_before - net_after)
    swing = (before - after) / before
    assert 0.0 < swing < 0.30


def test_nat_lever_swing_shrinks_with_traffic():
    # Property: the fixed-cost saving is diluted as traffic (and the token bill) grows.
    swings = []
    for rps in (0.5, 2.0, 8.0):
        before, _ = _rag_total(rps, NetworkSettings())
        after, _ = _rag_total(rps, NetworkSettings(aws_path="privatelink",
                                                   vector_store_cross_az_fraction=0.0))
        swings.append((before - after) / before)
    assert swings[0] > swings[1] > swings[2] > 0


@pytest.mark.parametrize("item_kb, back", [
    # item_kb 2 = 2 x 1,024 bytes + 1,024 overhead = 3,072 bytes back
    (2.0, 3072.0),
    # default: 500 output tokens x 4 bytes + 1,024 = 3,024
    (None, 3024.0),
])
def test_request_hops_response_cache_item_in_kb_of_1024_bytes(item_kb, back):
    from costlib.bill.plumbing.network import request_hops

    cache = {"hit_fraction": 0.5} | ({"item_kb": item_kb} if item_kb else {})
    ctx, p = ctx_for({"workload": {"in_tokens": 2000, "out_tokens": 500, "avg_rps": 1,
                                   "p95_latency_ms": 1000},
                      "options": {"m": {"kind": "managed_api",
                                        "model": "meta.llama3-1-8b-instruct-v1:0"},
                                  "r": {"kind": "router", "cache": cache,
                                        "routes": [{"to": "m", "share": 1.0}]}}}, 1.0)
    hop = [h for h in request_hops(NetworkSettings(), ctx, p.options["r"])
           if "response cache" in h.name][0]
    assert hop.bytes_out == 1024.0
    assert hop.bytes_back == back
