"""Tests of costlib.bill.plumbing: every category for every option kind, the params blocks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import ValidationError

from costlib.bill.options import PRICERS
from costlib.bill.context import Context
from costlib.bill.lineitems import CATEGORIES
from costlib.bill.params import Params
from costlib.bill.plumbing import Plumbing, extra_input_tokens, price_plumbing
from costlib.tables.prices import load_price_book
from costlib.formulas.traffic import TrafficShape, build_profile

FIXTURE_PRICES = Path(__file__).parent / "fixtures" / "prices"
BOOK = load_price_book(tables_dir=FIXTURE_PRICES, genai_import=False)  # tests/fixtures/prices

PARAMS = {
    "workload": {"in_tokens": 2000, "out_tokens": 500, "avg_rps": 2, "p95_latency_ms": 1000},
    "options": {
        "bedrock": {"kind": "managed_api", "model": "meta.llama3-1-8b-instruct-v1:0",
                    "quota": {"requests_per_minute": 100}},
        "pt": {"kind": "provisioned", "model": "meta.llama3-1-8b-instruct-v1:0",
               "tokens_per_minute_per_model_unit": 1_000_000, "usd_per_model_unit_hour": 10.0},
        "fleet": {"kind": "self_hosted", "instance": "g5.xlarge",
                  "tokens_per_second_per_instance": 500, "batch_size": 4},
        "router": {"kind": "router", "cache": {"hit_fraction": 0.5},
                   "routes": [{"to": "bedrock", "share": 0.5}, {"to": "fleet", "share": 0.5}]},
    },
}


def make_ctx(params: Params, avg_rps: float | None = None):
    profile = build_profile(TrafficShape(shape="steady"),
                            avg_rps=avg_rps or params.workload.avg_rps)

    def ctx_for(share: float) -> Context:
        scaled = profile if share == 1.0 else dataclasses.replace(profile, rps=profile.rps * share)
        return Context(params=params, profile=scaled, prices=BOOK, base_dir=Path("."), share=share,
                       evaluate=lambda n, s: PRICERS[params.options[n].kind](
                           n, params.options[n], ctx_for(share * s)))

    return ctx_for(1.0)


def price_option(params: Params, name: str, plumbing: Plumbing):
    ctx = make_ctx(params)
    opt = params.options[name]
    outcome = PRICERS[opt.kind](name, opt, ctx)
    return outcome, price_plumbing(plumbing, ctx, opt, outcome)


@pytest.mark.parametrize("name", ["bedrock", "pt", "fleet", "router"])
def test_price_plumbing_every_category_for_every_kind(name):
    params = Params.model_validate(PARAMS)
    plumbing = Plumbing(retrieval={"enabled": True})
    _, items = price_option(params, name, plumbing)
    cats = {li.category for li in items}
    assert cats >= set(CATEGORIES) - {"inference", "operations"}
    for li in items:
        # monthly_usd = quantity x unit price, never negative
        assert li.monthly_usd == pytest.approx(li.quantity * li.unit_usd)
        assert li.monthly_usd >= 0


def test_price_plumbing_defaults_are_small_fixed_floor():
    # Defaults (retrieval off): the plumbing of a 2-rps managed option is at least the fixed
    # floor of the baseline architecture: 2 NAT gateways 2 * 730 * 0.045 = 65.70, their IPv4
    # addresses 2 * 730 * 0.005 = 7.30, ALB 730 * 0.0225 = 16.425, ALB IPv4 7.30, 1 KMS key 1.00
    # = 97.725 USD/month before any per-GB charge.
    params = Params.model_validate(PARAMS)
    _, items = price_option(params, "bedrock", Plumbing())
    total = sum(li.monthly_usd for li in items)
    assert total > 97.725
    fixed = sum(li.monthly_usd for li in items if li.unit in ("gateway-hour", "IP-hour", "ALB-hour",
                                                              "key-month"))
    assert fixed == pytest.approx(97.725)


def test_extra_input_tokens_off_and_on():
    assert extra_input_tokens(Plumbing()) == 0.0
    # defaults when enabled: 5 chunks x 400 tokens x 1.0 kept = 2000 (the article's "2k tokens")
    assert extra_input_tokens(Plumbing(retrieval={"enabled": True})) == 2000.0
    # dedup keeps 30 %: 5 x 400 x 0.3 = 600
    kept = Plumbing(retrieval={"enabled": True, "context_kept_fraction": 0.3})
    assert extra_input_tokens(kept) == pytest.approx(600.0)


def test_plumbing_misspelt_key_is_an_error():
    with pytest.raises(ValidationError):
        Plumbing.model_validate({"network": {"aws_paht": "nat"}})
    with pytest.raises(ValidationError):
        Plumbing.model_validate({"retreival": {}})


# --- renamed keys: an old key is a one-line error saying how to migrate ------------------------


@pytest.mark.parametrize("block, old, new", [
    ("observability", "xray_usd_per_1m_traces", "usd_per_1m_xray_traces"),
    ("observability", "custom_metric_usd_per_month", "usd_per_custom_metric_month"),
    ("retrieval.embedding", "instance_hour_usd", "usd_per_instance_hour"),
    ("retrieval.vector_store", "instance_hour_usd", "usd_per_instance_hour"),
    ("retrieval.vector_store", "dynamodb_storage_usd_per_gb_month", "usd_per_dynamodb_gb_month"),
])
def test_load_params_old_price_key_says_how_to_migrate(tmp_path, block, old, new):
    from costlib.bill.params import load_params
    from costlib.core.errors import CostlibError

    parts = block.split(".")
    yaml_block = f"{parts[0]}:\n" + (f"  {parts[1]}:\n    {old}: 1.0\n" if len(parts) > 1
                                     else f"  {old}: 1.0\n")
    path = tmp_path / "p.yaml"
    path.write_text("workload: {in_tokens: 100, out_tokens: 50, avg_rps: 1, p95_latency_ms: 500}\n"
                    "options:\n  api: {kind: managed_api, model: m}\n" + yaml_block)
    with pytest.raises(CostlibError) as err:
        load_params(path)
    assert str(err.value) == f"{path}: {block}: {old} was renamed: use {new}"


@pytest.mark.parametrize("block, key", [
    ("observability", "usd_per_1m_xray_traces"),
    ("observability", "usd_per_custom_metric_month"),
    ("retrieval.embedding", "usd_per_instance_hour"),
    ("retrieval.vector_store", "usd_per_instance_hour"),
    ("retrieval.vector_store", "usd_per_dynamodb_gb_month"),
])
def test_load_params_new_price_key_is_read(tmp_path, block, key):
    from costlib.bill.params import load_params

    parts = block.split(".")
    yaml_block = f"{parts[0]}:\n" + (f"  {parts[1]}:\n    {key}: 1.5\n" if len(parts) > 1
                                     else f"  {key}: 1.5\n")
    path = tmp_path / "p.yaml"
    path.write_text("workload: {in_tokens: 100, out_tokens: 50, avg_rps: 1, p95_latency_ms: 500}\n"
                    "options:\n  api: {kind: managed_api, model: m}\n" + yaml_block)
    node = load_params(path).plumbing
    for part in parts:
        node = getattr(node, part)
    assert getattr(node, key) == 1.5
