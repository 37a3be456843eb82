"""Tests of costlib.bill.plumbing.observability: log bytes, storage, Insights, X-Ray, the claim."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from costlib.core.errors import CostlibError
from costlib.bill.options import PRICERS
from costlib.bill.context import Context
from costlib.bill.params import Params
from costlib.bill.plumbing import Plumbing, extra_input_tokens, price_plumbing
from costlib.bill.plumbing.observability import ObservabilitySettings, price_observability
from costlib.tables.prices import load_price_book
from costlib.formulas.traffic import TrafficShape, build_profile

FIXTURE_PRICES = Path(__file__).parent / "fixtures" / "prices"
BOOK = load_price_book(tables_dir=FIXTURE_PRICES, genai_import=False)  # tests/fixtures/prices
GB = 2**30
MONTH_S = 730 * 3600


def managed(in_tokens, out_tokens, rps, model="meta.llama3-1-8b-instruct-v1:0"):
    p = Params.model_validate({"workload": {"in_tokens": in_tokens, "out_tokens": out_tokens,
                                            "avg_rps": rps, "p95_latency_ms": 1000},
                               "options": {"m": {"kind": "managed_api", "model": model}}})
    profile = build_profile(TrafficShape(shape="steady"), avg_rps=rps)
    return Context(params=p, profile=profile, prices=BOOK, base_dir=Path(".")), p


def test_price_observability_payloads_hand():
    # 1 rps = 2,628,000 requests; payloads 11,024 bytes each -> 26.98 GB x 0.50 = 13.49 USD
    ctx, p = managed(2000, 500, 1.0)
    items = price_observability(ObservabilitySettings(log_payloads=True), ctx, p.options["m"], None)
    ingest = items[0]
    assert ingest.quantity == pytest.approx(11024 * MONTH_S / GB)
    assert ingest.monthly_usd == pytest.approx(11024 * MONTH_S / GB * 0.50)


def test_payload_sampling_lever_cuts_ingestion():
    # keeping 1 % of payloads: 1024 + 0.01 x 10,000 = 1,124 bytes against 11,024 (-89.8 %)
    ctx, p = managed(2000, 500, 1.0)
    full = price_observability(ObservabilitySettings(log_payloads=True), ctx, p.options["m"], None)
    sampled = price_observability(
        ObservabilitySettings(log_payloads=True, payload_sample_rate=0.01), ctx, p.options["m"],
        None)
    assert sampled[0].quantity / full[0].quantity == pytest.approx(1124 / 11024)


def test_xray_needs_a_price():
    ctx, p = managed(2000, 500, 1.0)
    with pytest.raises(CostlibError, match="observability.usd_per_1m_xray_traces"):
        price_observability(ObservabilitySettings(trace_sample_rate=0.05), ctx, p.options["m"],
                            None)
    # 5 % of 2,628,000 = 131,400 traces = 0.1314 M x 5.00 USD (aws.amazon.com/xray/pricing)
    items = price_observability(ObservabilitySettings(trace_sample_rate=0.05,
                                                      usd_per_1m_xray_traces=5.0),
                                ctx, p.options["m"], None)
    assert items[-1].monthly_usd == pytest.approx(0.1314 * 5.0)


def _categories(obs: ObservabilitySettings):
    plumbing = Plumbing(retrieval={"enabled": True}, observability=obs)
    ctx, p = managed(2000 + extra_input_tokens(plumbing), 500, 5.0)
    opt = p.options["m"]
    outcome = PRICERS[opt.kind]("m", opt, ctx)
    cats = defaultdict(float)
    for li in outcome.line_items + price_plumbing(plumbing, ctx, opt, outcome):
        cats[li.category] += li.monthly_usd
    return sorted(cats, key=cats.get, reverse=True)


def test_full_payload_logging_puts_observability_in_top_three():
    # Scenario (stated): a RAG chat on Bedrock, Llama 3.1 8B on demand, 2,000 prompt +
    # 2,000 retrieved tokens, 500 out, 5 rps steady (13.1 M requests/month, "moderate"),
    # OpenSearch Serverless, NAT, ALB. Full logging = prompt and response payloads plus
    # token-level traces (500 events of 150 bytes): 1024 + 4500 x 4 + 75,000 = 94,024 bytes
    # per request -> 1,151 GB/month x 0.50 = 575 USD of ingestion, above retrieval (~364)
    # and network. With metadata only (1 KB/request: 6.3 USD) it ranks behind them.
    top_full = _categories(ObservabilitySettings(log_payloads=True, token_level_traces=True))
    assert "observability" in top_full[:3]
    top_meta = _categories(ObservabilitySettings())
    assert "observability" not in top_meta[:3]
