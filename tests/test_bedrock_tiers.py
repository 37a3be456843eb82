"""Bedrock service tiers, the Reserved tier and prompt-cache economics, priced by hand.

Workload in the priced tests: 100 tokens in, 50 out, a steady 1 request/s, so a 730-hour month
has 1 x 730 x 3600 = 2,628,000 requests: 262.8 M input and 131.4 M output tokens (150 tokens a
request, 9,000 tokens a minute). Prices are the rows of the price tables, typed in from their
sources in the comments (us-east-1, USD per 1M tokens):

- Portkey-AI/models pricing/bedrock.json @ f654307e (2026-08-21): gpt-oss-120b flex 0.075 /
  0.30; Qwen3-235B standard 0.22 / 0.88, flex 0.11 / 0.44; Mistral Large 3 priority 0.875 /
  2.625.
- convo-lang bedrock-pricing.md / genai-prices: Llama 3.1 70B 0.72 / 0.72, batch 0.36 / 0.36.
- genai-prices 0.2.3: Claude Sonnet 4.5 global 3.00 / 15.00; in-region / geo 3.30 / 16.50,
  cache read 0.33, 5-minute write 4.125, 1-hour write 6.60.
"""

import json
import math
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params
from costlib.core.errors import CostlibError
from costlib.formulas.bedrock_tiers import (
    MINUTES_PER_MONTH,
    cheapest_reserved_tpm,
    reserved_mix_usd_per_month,
)
from costlib.formulas.prompt_cache import prefix_hit_fraction, request_weighted_hit_fraction
from costlib.whatif.tiers import tier_mix

IN_M, OUT_M = 262.8, 131.4
HEAD = textwrap.dedent(
    """
    workload: {in_tokens: 100, out_tokens: 50, avg_rps: 1, p95_latency_ms: 500}
    prices: {as_of: 2026-11-27}
    options:
    """
)
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(autouse=True)
def _options_only(no_plumbing):
    """The option's own line items only (plumbing has its own tests)."""


def write(tmp_path, options_yaml):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(options_yaml), "  "))
    return path


def priced(tmp_path, options_yaml):
    return {o.name: o for o in estimate(load_params(write(tmp_path, options_yaml))).options}


def one_line_error(tmp_path, options_yaml) -> str:
    with pytest.raises(CostlibError) as exc:
        priced(tmp_path, options_yaml)
    msg = exc.value.message
    assert "\n" not in msg
    return msg


# --- on-demand tiers --------------------------------------------------------------------------


def test_flex_tier_bills_every_token_at_the_flex_rate(tmp_path):
    # 262.8 x 0.075 + 131.4 x 0.30 = 19.71 + 39.42 = 59.13
    o = priced(tmp_path, """
        api: {kind: managed_api, model: openai.gpt-oss-120b-1:0, tier: flex}
    """)["api"]
    assert_allclose(o.monthly_usd, 59.13)
    assert o.details["tier"] == "flex"


def test_priority_tier_bills_every_token_at_the_priority_rate(tmp_path):
    # 262.8 x 0.875 + 131.4 x 2.625 = 229.95 + 344.925 = 574.875
    o = priced(tmp_path, """
        api: {kind: managed_api, model: mistral.mistral-large-3-675b-instruct, tier: priority}
    """)["api"]
    assert_allclose(o.monthly_usd, 574.875)


def test_tolerant_share_on_flex_is_share_times_tokens_times_flex_rate(tmp_path):
    # standard 60 %: 0.6 x (262.8 x 0.22 + 131.4 x 0.88) = 0.6 x 173.448 = 104.0688
    # flex 40 %:     0.4 x (262.8 x 0.11 + 131.4 x 0.44) = 0.4 x  86.724 =  34.6896
    o = priced(tmp_path, """
        api: {kind: managed_api, model: qwen.qwen3-235b-a22b-2507-v1:0,
              latency_tolerant_share: 0.4, tolerant_mode: flex}
    """)["api"]
    assert_allclose(o.monthly_usd, 104.0688 + 34.6896)
    by_name = {li.item: li for li in o.line_items}
    flex_out = by_name["qwen.qwen3-235b-a22b-2507-v1:0 flex output tokens (latency-tolerant share)"]
    assert_allclose(flex_out.quantity, 0.4 * OUT_M)


def test_cheapest_tolerant_mode_uses_batch_when_the_model_has_no_flex_rate(tmp_path):
    # Llama 3.1 70B: 0.6 x 394.2 x 0.72 + 0.4 x 394.2 x 0.36 = 170.2944 + 56.7648
    o = priced(tmp_path, f"""
        api: {{kind: managed_api, model: "{LLAMA}", latency_tolerant_share: 0.4}}
    """)["api"]
    assert o.details["tolerant_mode"] == "batch"
    assert_allclose(o.monthly_usd, 170.2944 + 56.7648)


def test_a_tier_without_a_sourced_rate_is_a_one_line_error_naming_the_tiers_it_has(tmp_path):
    msg = one_line_error(tmp_path, f"""
        api: {{kind: managed_api, model: "{LLAMA}", tier: flex}}
    """)
    assert "options.api.tier" in msg and "p.yaml" in msg and LLAMA in msg
    assert "it has: standard, batch" in msg


def test_stated_prices_price_a_tier_the_tables_lack(tmp_path):
    # 262.8 x 1.0 + 131.4 x 2.0 = 525.6
    o = priced(tmp_path, f"""
        api: {{kind: managed_api, model: "{LLAMA}", tier: priority,
              usd_per_1m_input_tokens: 1.0, usd_per_1m_output_tokens: 2.0}}
    """)["api"]
    assert_allclose(o.monthly_usd, 525.6)


def test_global_profile_is_priced_below_the_geo_profile_by_the_tables_ten_percent(tmp_path):
    # global: 262.8 x 3.00 + 131.4 x 15.00 = 2,759.4; geo: 262.8 x 3.30 + 131.4 x 16.50 = 3,035.34
    o = priced(tmp_path, f"""
        g: {{kind: managed_api, model: "{SONNET}", inference_profile: global}}
        r: {{kind: managed_api, model: "us.{SONNET}", inference_profile: geo}}
    """)
    assert_allclose(o["g"].monthly_usd, 2759.4)
    assert_allclose(o["r"].monthly_usd, 3035.34)
    assert_allclose(o["r"].monthly_usd / o["g"].monthly_usd, 1.1)


def test_global_profile_without_a_global_price_is_priced_in_region_and_says_so(tmp_path):
    o = priced(tmp_path, f"""
        api: {{kind: managed_api, model: "{LLAMA}", inference_profile: global}}
    """)["api"]
    assert_allclose(o.monthly_usd, (IN_M + OUT_M) * 0.72)
    assert "no global. price" in o.details["inference_profile"]


# --- the Reserved tier ------------------------------------------------------------------------


def _grid_cost(demand, share, p, c):
    """Exhaustive: the reserved-plus-overflow bill at every whole TPM from 0 to the peak."""
    grid = np.arange(0, int(demand.max()) + 1, dtype=float)
    over = np.maximum(demand[None, :] - grid[:, None], 0.0) @ share
    return grid, grid / 1000 * p + c * over * MINUTES_PER_MONTH / 1e6


@pytest.mark.parametrize("seed", range(6))
def test_cheapest_reserved_tpm_equals_an_exhaustive_grid(seed):
    rng = np.random.default_rng(seed)
    demand = rng.integers(0, 2_000, size=40).astype(float)
    share = rng.random(40)
    share /= share.sum()
    p, c = float(rng.uniform(5, 40)), float(rng.uniform(0.3, 2.0))
    best = cheapest_reserved_tpm(demand, share, p, c)[0]
    grid, cost = _grid_cost(demand, share, p, c)
    ours = reserved_mix_usd_per_month(best, demand[None, :], share, p, c)[0]
    assert_allclose(ours, cost.min(), rtol=1e-12)
    assert cost[int(best)] <= cost.min() * (1 + 1e-12)


def test_cheapest_reserved_tpm_is_the_critical_fractile():
    # levels 100, 200, 300 TPM each a third of the month; p / c = 0.5 with c the price of a
    # TPM-month of tokens: reserve up to the level exceeded at most half the minutes: 200
    c_usd_per_1m = 1e6 / MINUTES_PER_MONTH  # 1 USD per TPM-month
    r = cheapest_reserved_tpm(np.array([100.0, 200.0, 300.0]), np.full(3, 1 / 3), 500.0,
                              c_usd_per_1m)
    assert r[0] == 200.0


@pytest.mark.parametrize("seed", range(5))
def test_fully_used_reserved_capacity_at_a_lower_price_per_token_never_costs_more(seed):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(1_000, 5_000, size=30)
    share = np.full(30, 1 / 30)
    c = 0.72  # USD per 1M tokens at Standard
    c_per_tpm_month = c * MINUTES_PER_MONTH / 1e6
    p = rng.uniform(0.1, 0.99) * c_per_tpm_month * 1000  # cheaper per token than Standard
    reserved = rng.uniform(0, demand.min())  # used every minute
    mix = reserved_mix_usd_per_month(reserved, demand[None, :], share, p, c)[0]
    standard = c * (demand @ share) * MINUTES_PER_MONTH / 1e6
    assert mix <= standard


def test_reserved_option_bills_capacity_always_and_overflow_at_standard(tmp_path):
    # 9,000 TPM demanded, 6,000 reserved at 10 USD per 1K TPM-month: 6 x 10 = 60 USD;
    # overflow 3,000 TPM x 43,800 min = 131.4 M tokens x 0.72 = 94.608 USD
    o = priced(tmp_path, f"""
        api: {{kind: managed_api, model: "{LLAMA}",
              reserved: {{usd_per_1k_tpm_month: 10, tokens_per_minute: 6000}}}}
    """)["api"]
    assert_allclose(o.monthly_usd, 60 + 94.608)
    assert_allclose(o.floor_usd, 60)


def test_reserved_option_reserves_all_of_a_steady_demand_when_cheaper_per_token(tmp_path):
    # 10 USD per 1K TPM-month = 0.01 USD per TPM-month < 0.72 x 43,800 / 1e6 = 0.0315 at
    # Standard: reserve all 9,000 TPM: 9 x 10 = 90 USD, no overflow
    o = priced(tmp_path, f"""
        api: {{kind: managed_api, model: "{LLAMA}", reserved: {{usd_per_1k_tpm_month: 10}}}}
    """)["api"]
    assert_allclose(o.details["reserved_tpm"], 9000)
    assert_allclose(o.monthly_usd, 90)


# --- prompt-cache economics -------------------------------------------------------------------


def test_ttl_hit_rate_by_hand():
    # lambda = 1 request/min, TTL 5 min: 1 - e^-5 = 0.993262
    assert_allclose(prefix_hit_fraction(1.0, 5.0), 1 - math.exp(-5), rtol=1e-12)
    assert_allclose(prefix_hit_fraction(1.0, 5.0), 0.99326, atol=5e-6)


def test_ttl_hit_rate_limits():
    assert prefix_hit_fraction(10.0, 0.0) == 0.0  # no time to live: no hits
    assert_allclose(prefix_hit_fraction(1e9, 5.0), 1.0)  # very frequent prefix: all hits
    rates = np.array([0.01, 0.1, 1.0, 10.0])
    assert np.all(np.diff(prefix_hit_fraction(rates, 5.0)) > 0)  # more traffic, more hits


def test_request_weighted_hit_rate_weights_each_step_by_its_requests():
    # two steps of one minute each: 1 rps and 3 rps over 60 prefixes -> 1 and 3 requests/min
    # a prefix; hits (1 - e^-5) and (1 - e^-15), weighted 1:3
    rps, w = np.array([[1.0, 3.0]]), np.array([1.0, 1.0])
    want = (1 * (1 - math.exp(-5)) + 3 * (1 - math.exp(-15))) / 4
    assert_allclose(request_weighted_hit_fraction(rps, w, prefixes=60, ttl_minutes=5.0), [want])


def test_derived_cache_fractions_equal_to_stated_ones_give_the_same_bill(tmp_path):
    # 1 rps over 60 prefixes = 1 request/min a prefix; hit = 1 - e^-5; prefix 80 % of input
    hit = 1 - math.exp(-5)
    o = priced(tmp_path, f"""
        derived: {{kind: managed_api, model: "{SONNET}",
                  prompt_cache: {{prefix_fraction: 0.8, prefixes: 60, ttl_minutes: 5}}}}
        rate: {{kind: managed_api, model: "{SONNET}",
               prompt_cache: {{prefix_fraction: 0.8, prefix_requests_per_minute: 1}}}}
        stated: {{kind: managed_api, model: "{SONNET}",
                 prompt_cache: {{read_fraction: {0.8 * hit!r}, write_fraction: {0.8 * (1 - hit)!r}}}}}
    """)
    assert_allclose(o["derived"].monthly_usd, o["stated"].monthly_usd, rtol=1e-12)
    assert_allclose(o["rate"].monthly_usd, o["stated"].monthly_usd, rtol=1e-12)
    assert_allclose(o["derived"].details["cache_hit_fraction"], hit)


def test_one_hour_ttl_writes_at_the_one_hour_rate(tmp_path):
    # every prefix written (hit 0), whole input: 262.8 x 6.60 + 131.4 x 16.50 = 1,734.48 + 2,168.10
    o = priced(tmp_path, f"""
        api: {{kind: managed_api, model: "{SONNET}",
              prompt_cache: {{prefix_fraction: 1, hit_fraction: 0, ttl_minutes: 60}}}}
    """)["api"]
    assert_allclose(o.monthly_usd, 1734.48 + 2168.10)


@pytest.mark.parametrize("block, key, words", [
    ("prompt_cache: {prefix_fraction: 0.5}", "api.prompt_cache", "needs a hit rate"),
    ("prompt_cache: {read_fraction: 0.5, prefixes: 3, prefix_fraction: 0.5}",
     "api.prompt_cache", "not both"),
    ("prompt_cache: {prefixes: 3}", "api.prompt_cache", "needs prefix_fraction"),
    ("prompt_cache: {prefix_fraction: 0.5, hit_fraction: 0.5, ttl_minutes: 10}",
     "api.prompt_cache.ttl_minutes", ""),
    ("tier: priority, reserved: {usd_per_1k_tpm_month: 10}", "api", "overflows to the standard"),
    ("batch_fraction: 0.7, latency_tolerant_share: 0.4", "api", "cannot exceed 1"),
    ("tier: turbo", "api.tier", "'standard', 'flex' or 'priority'"),
])
def test_bad_tier_and_cache_inputs_are_one_line_errors_naming_file_and_key(tmp_path, block, key,
                                                                           words):
    msg = one_line_error(tmp_path, f"""
        api: {{kind: managed_api, model: "{SONNET}", {block}}}
    """)
    assert "p.yaml" in msg and f"options.{key}" in msg and words in msg


# --- the what-if and its command --------------------------------------------------------------


def test_tier_mix_prices_the_available_mixes_and_names_the_cheapest(tmp_path):
    path = write(tmp_path, f"""
        llama: {{kind: managed_api, model: "{LLAMA}"}}
        sonnet: {{kind: managed_api, model: "{SONNET}"}}
    """)
    result = tier_mix(load_params(path), tolerant_share=0.4, usd_per_1k_tpm_month=10)
    llama = {m.mix: m for m in result.options["llama"]}
    assert_allclose(llama["standard"].monthly_usd, (IN_M + OUT_M) * 0.72)
    assert_allclose(llama["standard+batch"].monthly_usd, 170.2944 + 56.7648)
    assert not llama["priority"].priced and "it has: standard, batch" in llama["priority"].reason
    assert not llama["standard+flex"].priced
    # reserved: 60 % of 9,000 TPM = 5,400 TPM at 10 USD per 1K = 54 USD, tolerant share on batch
    assert_allclose(llama["reserved+batch"].monthly_usd, 54 + 56.7648)
    assert result.cheapest("llama").mix == "reserved+batch"
    sonnet = {m.mix: m for m in result.options["sonnet"]}
    assert [m for m, r in sonnet.items() if r.priced] == ["standard", "standard@global", "reserved"]
    # global profile: 262.8 x 3.00 + 131.4 x 15.00 = 2,759.4
    assert_allclose(sonnet["standard@global"].monthly_usd, 2759.4)
    assert not llama["standard@global"].priced
    assert "no Reserved-tier price" not in sonnet["reserved"].reason
    assert not sonnet["provisioned"].priced


def test_tiers_command_prints_json_with_every_mix(tmp_path, capsys):
    from costlib.cli import main

    path = write(tmp_path, f"""
        llama: {{kind: managed_api, model: "{LLAMA}"}}
    """)
    assert main(["tiers", str(path), "--tolerant-share", "0.4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    mixes = out["options"]["llama"]["mixes"]
    assert {m["mix"] for m in mixes} >= {"standard", "priority", "standard+flex",
                                         "standard+batch", "reserved", "provisioned"}
    assert out["options"]["llama"]["cheapest"] == "standard+batch"


def test_tiers_command_rejects_a_share_above_one(tmp_path, capsys):
    from costlib.cli import main

    path = write(tmp_path, f"""
        llama: {{kind: managed_api, model: "{LLAMA}"}}
    """)
    assert main(["tiers", str(path), "--tolerant-share", "1.5"]) == 2
    assert "tolerant share" in capsys.readouterr().err


def test_a_fully_used_reservation_at_the_breakeven_price_costs_what_standard_does():
    from costlib.formulas.bedrock_tiers import breakeven_usd_per_1k_tpm_month

    # 9,000 TPM all month at 0.72 USD/1M: 9,000 x 43,800 / 1e6 x 0.72 = 283.824 USD either way
    p = breakeven_usd_per_1k_tpm_month(0.72)
    assert_allclose(reserved_mix_usd_per_month(9000.0, np.array([[9000.0]]), np.array([1.0]), p,
                                               0.72), [283.824])
    assert_allclose(reserved_mix_usd_per_month(0.0, np.array([[9000.0]]), np.array([1.0]), p,
                                               0.72), [283.824])
