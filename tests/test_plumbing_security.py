"""Tests of costlib.bill.plumbing.security: KMS keys and requests, data-key caching, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from costlib.bill.context import Context
from costlib.bill.params import Params
from costlib.bill.plumbing.security import SecuritySettings, price_security
from costlib.tables.prices import load_price_book
from costlib.formulas.traffic import TrafficShape, build_profile

FIXTURE_PRICES = Path(__file__).parent / "fixtures" / "prices"
BOOK = load_price_book(tables_dir=FIXTURE_PRICES, genai_import=False)  # tests/fixtures/prices


def ctx_at(rps):
    p = Params.model_validate({"workload": {"in_tokens": 2000, "out_tokens": 500, "avg_rps": rps,
                                            "p95_latency_ms": 1000},
                               "options": {"m": {"kind": "managed_api",
                                                 "model": "meta.llama3-1-8b-instruct-v1:0"}}})
    profile = build_profile(TrafficShape(shape="steady"), avg_rps=rps)
    return Context(params=p, profile=profile, prices=BOOK, base_dir=Path(".")), p


def test_price_security_default_one_key():
    ctx, p = ctx_at(1.0)
    items = price_security(SecuritySettings(), ctx, p.options["m"], None)
    # 1 key-month at 1.00 USD (aws.amazon.com/kms/pricing)
    assert len(items) == 1 and items[0].monthly_usd == pytest.approx(1.00)


def test_price_security_kms_per_write_and_caching_hand():
    # 1 rps = 2,628,000 requests x 2 encrypted writes = 5,256,000 KMS requests = 525.6 x 10k
    # x 0.03 = 15.768 USD; with a data key per 1,000 objects: 0.015768 USD
    ctx, p = ctx_at(1.0)
    items = price_security(SecuritySettings(encrypted_writes_per_request=2), ctx, p.options["m"],
                           None)
    assert items[1].monthly_usd == pytest.approx(15.768)
    cached = price_security(SecuritySettings(encrypted_writes_per_request=2,
                                             objects_per_data_key=1000), ctx, p.options["m"], None)
    assert cached[1].monthly_usd == pytest.approx(0.015768)


def test_price_security_secrets_hand():
    # 3 secrets x 0.40 = 1.20; 0.1 calls per request x 2,628,000 = 262,800 = 26.28 x 10k x 0.05
    ctx, p = ctx_at(1.0)
    items = price_security(SecuritySettings(secrets=3, secret_calls_per_request=0.1), ctx,
                           p.options["m"], None)
    assert sum(li.monthly_usd for li in items) == pytest.approx(1.00 + 1.20 + 26.28 * 0.05)
