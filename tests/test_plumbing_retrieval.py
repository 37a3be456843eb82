"""Tests of costlib.bill.plumbing.retrieval: context, embeddings, vector stores, processing."""

from __future__ import annotations

from pathlib import Path

import pytest

from costlib.core.errors import CostlibError
from costlib.bill.options import PRICERS
from costlib.bill.context import Context
from costlib.bill.params import Params
from costlib.bill.plumbing import Plumbing, extra_input_tokens, price_plumbing
from costlib.bill.plumbing.retrieval import RetrievalSettings, embedding_dims, price_retrieval
from costlib.tables.prices import load_price_book
from costlib.formulas.traffic import TrafficShape, build_profile

FIXTURE_PRICES = Path(__file__).parent / "fixtures" / "prices"
BOOK = load_price_book(tables_dir=FIXTURE_PRICES, genai_import=False)  # tests/fixtures/prices
GB = 2**30
MONTH_S = 730 * 3600


def managed(in_tokens, rps, model="meta.llama3-1-8b-instruct-v1:0", out_tokens=500):
    p = Params.model_validate({"workload": {"in_tokens": in_tokens, "out_tokens": out_tokens,
                                            "avg_rps": rps, "p95_latency_ms": 1000},
                               "options": {"m": {"kind": "managed_api", "model": model}}})
    profile = build_profile(TrafficShape(shape="diurnal", peak_rps=2 * rps,
                                            business_hours=(13, 22)), avg_rps=rps)
    return Context(params=p, profile=profile, prices=BOOK, base_dir=Path(".")), p


def item(items, text):
    hits = [li for li in items if text in li.item]
    assert hits, f"no line item with {text!r}"
    return hits[0]


def test_embedding_dims_titan_rejects_384():
    s = RetrievalSettings(enabled=True, embedding={"dims": 384})
    with pytest.raises(CostlibError, match="1024, 512, 256"):
        embedding_dims(s)
    assert embedding_dims(RetrievalSettings(enabled=True)) == 1024
    with pytest.raises(CostlibError, match="retrieval.embedding.dims"):
        embedding_dims(RetrievalSettings(embedding={"hosting": "self_hosted"}))


def test_price_retrieval_disabled_one_zero_item():
    ctx, p = managed(2000, 1.0)
    items = price_retrieval(RetrievalSettings(), ctx, p.options["m"], None)
    assert len(items) == 1 and items[0].category == "retrieval" and items[0].monthly_usd == 0


def test_price_retrieval_opensearch_defaults_hand():
    # 1 rps = 2,628,000 requests/month; defaults enabled.
    ctx, p = managed(2000, 1.0)
    items = price_retrieval(RetrievalSettings(enabled=True), ctx, p.options["m"], None)
    # the OCU floor: 2 OCUs x 730 h x 0.24 = 350.40 USD (cloudburn/awsnegotiations: ~350/mo
    # for an idle vector collection)
    assert item(items, "OpenSearch Serverless OCUs").monthly_usd == pytest.approx(350.40)
    # query embeddings: 50 tokens x 2,628,000 = 131.4 M tokens x 0.02 = 2.628 USD
    assert item(items, "query embeddings").monthly_usd == pytest.approx(131.4 * 0.02)
    # ingestion: 100,000 chunks x 0.1 x 400 tokens = 4 M tokens x 0.02 = 0.08 USD
    assert item(items, "ingestion embeddings").monthly_usd == pytest.approx(0.08)
    # storage: 100,000 x (4096 + 1600 + 200) bytes / 2**30 GB x 0.024
    assert item(items, "storage").quantity == pytest.approx(1e5 * 5896 / GB)
    # context tokens shown, priced under inference: 2,628,000 x 2000 / 1e6 = 5,256 M tokens
    ctx_item = item(items, "retrieved context")
    assert ctx_item.quantity == pytest.approx(5256.0) and ctx_item.monthly_usd == 0


def test_price_retrieval_aurora_and_dynamodb_hand():
    ctx, p = managed(2000, 1.0)
    s = RetrievalSettings(enabled=True, vector_store={"kind": "aurora_pgvector"})
    items = price_retrieval(s, ctx, p.options["m"], None)
    # 100 k vectors x 1.1 x (4096 + 128) bytes = 0.43 GiB -> 0.5 ACU floor: 0.5 x 730 x 0.12
    assert item(items, "Aurora Serverless v2").monthly_usd == pytest.approx(43.80)
    # writes: 10,000 chunks x ceil(5896 / 4096) = 2 I/Os = 20,000 I/Os = 0.02 M x 0.20
    assert item(items, "Aurora I/O").monthly_usd == pytest.approx(0.02 * 0.20)
    s = RetrievalSettings(enabled=True, vector_store={"kind": "dynamodb_inprocess",
                                                      "usd_per_dynamodb_gb_month": 0.25})
    items = price_retrieval(s, ctx, p.options["m"], None)
    # reads: chunk text 1600 + 200 = 1800 bytes -> 0.5 RRU (eventual) x 5 chunks x 2,628,000
    # = 6.57 M RRU x 0.125 = 0.82125 USD
    assert item(items, "chunk reads").monthly_usd == pytest.approx(6.57 * 0.125)
    # storage at the given 0.25 USD/GB-month (us-east-1 row absent from the tables)
    assert item(items, "DynamoDB storage").unit_usd == 0.25


def test_price_retrieval_dynamodb_storage_missing_names_key():
    ctx, p = managed(2000, 1.0)
    s = RetrievalSettings(enabled=True, vector_store={"kind": "dynamodb_inprocess"})
    with pytest.raises(CostlibError, match="usd_per_dynamodb_gb_month"):
        price_retrieval(s, ctx, p.options["m"], None)


def test_price_retrieval_lambda_processing_hand():
    # 1 rps: 2,628,000 invocations = 2.628 M x 0.20 = 0.5256 USD; duration 1 GB x 0.2 s x
    # 2,628,000 = 525,600 GB-s x 0.0000166667 = 8.76 USD (first tier)
    ctx, p = managed(2000, 1.0)
    s = RetrievalSettings(processing={"kind": "lambda"})
    items = price_retrieval(s, ctx, p.options["m"], None)
    assert item(items, "Lambda requests").monthly_usd == pytest.approx(0.5256)
    assert item(items, "Lambda duration").monthly_usd == pytest.approx(525_600 * 0.0000166667)


def test_context_length_swings_total_over_30_percent():
    # Scenario (stated): Llama 3.1 8B on Bedrock on demand (0.22 / 0.22 USD per 1M tokens),
    # 1,500 prompt tokens + retrieved context, 500 out, 5 rps average (diurnal, peak 10),
    # RAG defaults (Titan V2, OpenSearch Serverless). Context right-sizing: raw 5 x 400 = 2,000
    # tokens against deduplicated 25 % = 500 tokens.
    # Inference difference by hand: 1,500 tokens x 5 x 2,628,000 requests = 19,710 M tokens
    # x 0.22 = 4,336.20 USD; the rest of the bill is the same but for bytes and logs.
    totals, inference = [], []
    for kept in (1.0, 0.25):
        plumbing = Plumbing(retrieval={"enabled": True, "context_kept_fraction": kept})
        ctx, p = managed(1500 + extra_input_tokens(plumbing), 5.0)
        opt = p.options["m"]
        outcome = PRICERS[opt.kind]("m", opt, ctx)
        items = outcome.line_items + price_plumbing(plumbing, ctx, opt, outcome)
        totals.append(sum(li.monthly_usd for li in items))
        inference.append(outcome.monthly_usd)
    assert inference[0] - inference[1] == pytest.approx(4336.20)
    assert (totals[0] - totals[1]) / totals[0] >= 0.30
