"""The sensitivity (tornado) table: :mod:`costlib.whatif.sensitivity` and ``costlib sensitivity``.

Oracles: each bar's two ends against the scalar estimate of the params with that one input
overridden (the same code path priced one scenario at a time, rel 1e-9), a structural input
(prompt tokens with self-hosted options deriving their throughput), the traffic profile scaled,
the batch the throughput model picked, and a choice (NAT or PrivateLink); a hand calculation
for a managed option's prompt-token bar (exact, through the difference of two input prices);
linearity; and properties (ranges inside the schema bounds, ranking by swing, keys absent from
a file skipped, one ``price_many`` call for keys the file states).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from costlib.bill.estimate import estimate
from costlib.bill.params import at_points, load_params, with_overrides
from costlib.bill.vector import numeric_keys
from costlib.cli import main
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.whatif import sensitivity
from costlib.whatif.sensitivity import COLUMNS, default_ranges, tornado

BEDROCK, P5, P4D = "bedrock_llama31_70b", "p5_vllm_llama31_70b", "p4d_vllm_llama31_70b"
SONNET = "bedrock_claude_sonnet_45"
REL = 1e-9


@pytest.fixture(scope="module")
def scenario_b():
    """Scenario B with its inputs at their point values, so every input takes its default range
    (the file gives three inputs as distributions; those are tested at the end)."""
    return at_points(load_params(PARAMS_DIR / "scenario_b_steady.yaml"))


@pytest.fixture(scope="module")
def tornado_b(scenario_b):
    return tornado(scenario_b)


def _totals(params) -> dict:
    return {o.name: o.monthly_usd for o in estimate(params).options}


def _overrides(params, key, value) -> dict:
    """The scalar overrides of one end, written out: traffic scales avg and p95 together."""
    if key == "traffic":
        k = value / params.workload.avg_rps
        out = {"workload.avg_rps": value}
        if params.workload.p95_rps is not None:  # a steady profile without one: p95 = avg
            out["workload.p95_rps"] = params.workload.p95_rps * k
        return out
    return {key: value}


@pytest.mark.parametrize("key", ["workload.in_tokens", "traffic",
                                 "network.model_cross_az_fraction",
                                 f"options.{P5}.batch_size", "network.aws_path"])
def test_a_tornado_bar_equals_the_two_estimates_it_came_from(scenario_b, tornado_b, key):
    rows = tornado_b.frame[tornado_b.frame["key"] == key]
    assert not rows.empty
    low, high = rows.iloc[0]["low"], rows.iloc[0]["high"]
    at_low = _totals(with_overrides(scenario_b, _overrides(scenario_b, key, low)))
    at_high = _totals(with_overrides(scenario_b, _overrides(scenario_b, key, high)))
    for r in rows.itertuples():
        assert r.low_usd == pytest.approx(at_low[r.option], rel=REL)
        assert r.high_usd == pytest.approx(at_high[r.option], rel=REL)
        assert r.swing_usd == pytest.approx(abs(at_high[r.option] - at_low[r.option]), rel=REL,
                                            abs=1e-6)


def test_base_total_is_todays_estimate(scenario_b, tornado_b):
    today = _totals(scenario_b)
    for name, usd in tornado_b.base_usd.items():
        assert usd == pytest.approx(today[name], rel=REL)
    assert tornado_b.cheapest == min(today, key=today.get)


def test_in_tokens_structural_for_self_hosted_moves_the_fleet(tornado_b):
    # in_tokens is a structural input when an option derives its throughput (the SLO search
    # runs per prompt length): the fleets' bars are not zero, and longer prompts cost more
    t = tornado_b.frame.set_index(["option", "key"])
    for name in (P5, P4D):
        row = t.loc[(name, "workload.in_tokens")]
        assert row["high_usd"] > row["base_usd"] > row["low_usd"]


def test_managed_prompt_token_bar_by_hand(scenario_b):
    # A managed option's prompt-token bar: swing = (high - low) tokens x requests/month x input
    # price per token, plus the plumbing's share (prompt bytes through NAT, logs), which does not
    # depend on the price. Scenario B: 40 requests/s x 730 h x 3,600 s = 105,120,000 requests a
    # month; the range 1,000 -> 3,000 prompt tokens is 2,000 tokens a request. Priced at 0.72 USD
    # per 1M input tokens (set here) against 0 USD, the swings differ by the tokens' share:
    # 2,000 x 105,120,000 x 0.72 / 1e6 = 151,372.8 USD/month.
    key = f"options.{BEDROCK}.usd_per_1m_input_tokens"
    ranges = {"workload.in_tokens": (1000.0, 3000.0)}
    swings = []
    for price in (0.0, 0.72):
        p = with_overrides(scenario_b, {key: price})
        t = tornado(p, BEDROCK, ranges, include_defaults=False).table(BEDROCK)
        swings.append(float(t.iloc[0]["swing_usd"]))
    assert swings[1] - swings[0] == pytest.approx(151_372.8, rel=REL)
    assert 0 < swings[0] < 0.001 * swings[1]  # the plumbing's share is small but there


def test_a_key_the_file_leaves_out_ranges_around_the_value_the_bill_used(scenario_b):
    # the file leaves the input price to the price table: its bar is priced in a call of its
    # own (every other key at its value), and equals the two scalar estimates
    key = f"options.{BEDROCK}.usd_per_1m_input_tokens"
    t = tornado(scenario_b, BEDROCK, {key: (0.5, 1.0)}, include_defaults=False).table().iloc[0]
    for end in ("low", "high"):
        scalar = _totals(with_overrides(scenario_b, {key: t[end]}))[BEDROCK]
        assert t[f"{end}_usd"] == pytest.approx(scalar, rel=REL)
    # the bill is affine in the price: 0.5 USD/1M x 210,240 M input tokens a month
    assert t["swing_usd"] == pytest.approx(0.5 * 2000 * 105_120_000 / 1e6, rel=REL)


def test_managed_prompt_token_bar_is_linear(scenario_b):
    # half the range, half the swing: a managed bill is affine in the prompt length
    whole = tornado(scenario_b, BEDROCK, {"workload.in_tokens": (1000.0, 3000.0)},
                    include_defaults=False).table().iloc[0]
    half = tornado(scenario_b, BEDROCK, {"workload.in_tokens": (1000.0, 2000.0)},
                   include_defaults=False).table().iloc[0]
    assert half["swing_usd"] * 2 == pytest.approx(whole["swing_usd"], rel=REL)
    assert half["low_usd"] == pytest.approx(whole["low_usd"], rel=REL)


@pytest.mark.parametrize("stem", ["scenario_a_bursty", "scenario_b_steady",
                                  "scenario_c_cached_rag", "default", "rag_plumbing"])
def test_every_range_is_inside_the_keys_bounds(stem):
    params = load_params(PARAMS_DIR / f"{stem}.yaml")
    known = numeric_keys(params)
    t = tornado(params).frame.drop_duplicates("key")
    for r in t.itertuples():
        if isinstance(r.low, str):
            continue
        spec = known["workload.avg_rps" if r.key == "traffic" else r.key]
        for v in (r.low, r.high):
            assert v >= spec.get("ge", -np.inf) and v <= spec.get("le", np.inf), r.key
            assert v > spec.get("gt", -np.inf) and v < spec.get("lt", np.inf), r.key
        assert r.low != r.high


def test_a_range_past_a_bound_is_clipped_and_says_so(scenario_b):
    t = tornado(scenario_b, BEDROCK, {"network.model_cross_az_fraction": (0.2, 1.7, "mine")},
                include_defaults=False).table().iloc[0]
    assert (t["low"], t["high"]) == (0.2, 1.0)
    assert t["origin"].startswith("mine (clipped from 0.2..1.7") and "<= 1" in t["origin"]


def test_a_prompt_cache_read_share_stops_where_read_plus_write_is_all_tokens(scenario_b):
    # read 0.7 + write 0.2: the default +0.2 points would make 1.1 of the input tokens; the
    # read share's ceiling is 1 - 0.2 = 0.8
    p = with_overrides(scenario_b, {f"options.{SONNET}.prompt_cache":
                                    {"read_fraction": 0.7, "write_fraction": 0.2}})
    t = tornado(p, SONNET).table().set_index("key")
    row = t.loc[f"options.{SONNET}.prompt_cache.read_fraction"]
    assert (row["low"], row["high"]) == pytest.approx((0.5, 0.8))
    assert "clipped" in row["origin"] and row["cheaper_at"] == "high"


def test_rows_are_ranked_by_swing_descending(tornado_b):
    for name in tornado_b.options:
        t = tornado_b.table(name)
        assert list(t["rank"]) == list(range(1, len(t) + 1))
        assert np.all(np.diff(t["swing_usd"].to_numpy()) <= 0)
    assert list(tornado_b.frame.columns) == list(COLUMNS)


def test_options_are_listed_cheapest_first(tornado_b):
    base = [tornado_b.base_usd[n] for n in tornado_b.options]
    assert base == sorted(base) and tornado_b.options[0] == tornado_b.cheapest


def test_a_key_absent_from_the_file_is_skipped(scenario_b):
    # the default ranges cover a response cache's hit rate; scenario B has no cache, C has one
    assert any("cache.hit_fraction" in r["key"] for r in default_ranges())
    keys_b = set(tornado(scenario_b, BEDROCK).frame["key"])
    assert not any("hit_fraction" in k for k in keys_b)
    c = load_params(PARAMS_DIR / "scenario_c_cached_rag.yaml")
    assert "options.cache_then_llama31_8b.cache.hit_fraction" in set(
        tornado(c, "cache_then_llama31_8b").frame["key"])


def test_an_option_scoped_input_is_left_out_of_options_it_cannot_move(tornado_b):
    bedrock_keys = set(tornado_b.table(BEDROCK)["key"])
    assert f"options.{P5}.batch_size" not in bedrock_keys
    assert f"options.{P5}.batch_size" in set(tornado_b.table(P5)["key"])


def test_a_stated_range_carries_its_origin(scenario_b):
    t = tornado(scenario_b, BEDROCK, {"workload.in_tokens": (1500, 2500, "distribution P10-P90")})
    row = t.table().set_index("key").loc["workload.in_tokens"]
    assert (row["low"], row["high"], row["origin"]) == (1500.0, 2500.0, "distribution P10-P90")


def test_keys_the_file_states_are_priced_in_one_call(scenario_b, monkeypatch):
    calls = []
    real = sensitivity.price_many

    def counting(*args, **kwargs):
        calls.append(args[1] if len(args) > 1 else kwargs.get("inputs"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sensitivity, "price_many", counting)
    t = tornado(scenario_b, None, {"traffic": (20.0, 60.0), "workload.in_tokens": (1000, 3000),
                                   "network.model_cross_az_fraction": (0.0, 1.0)},
                include_defaults=False)
    assert len(calls) == 1
    assert len(next(iter(calls[0].values()))) == 1 + 2 * 3  # today's row and two per input
    assert len(t.frame) == 3 * len(scenario_b.options)


@pytest.mark.parametrize("kwargs, message", [
    ({"option": "bedrock_llama"}, "no option 'bedrock_llama'"),
    ({"ranges": {"workload.in_tokenz": (1, 2)}}, "closest valid: workload.in_tokens"),
    ({"ranges": {"workload.in_tokens": (1,)}}, "give (low, high)"),
    ({"ranges": {"network.aws_path": (1, 2)}}, "is a setting"),
])
def test_bad_option_or_range_is_a_one_line_error(scenario_b, kwargs, message):
    with pytest.raises(CostlibError) as err:
        tornado(scenario_b, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_note_names_the_three_largest_swings(tornado_b):
    top = tornado_b.top(BEDROCK, 3)
    note = tornado_b.note(BEDROCK)
    for r in top.itertuples():
        assert r.input in note and f"{r.swing_usd:,.0f} USD" in note


def test_chart_bars_span_low_to_high_total_in_rank_order(tornado_b):
    from costlib.lessons.charts import tornado_chart

    spec = tornado_chart(tornado_b.frame, P5).to_dict()
    bars = spec["layer"][0]
    assert bars["encoding"]["y"]["sort"] == list(tornado_b.table(P5)["input"])
    assert bars["encoding"]["x"]["title"] == "monthly total (usd/month)"
    assert bars["encoding"]["x2"]["field"] == "total_usd"


# --------------------------------------------------------------------------------------------
# the command line


def test_cli_prints_one_table_per_option_cheapest_first(capsys):
    assert main(["sensitivity", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.index(f"{BEDROCK} (cheapest today)") < out.index(P5)
    assert "swing USD" in out and "traffic (avg rps) [workload.avg_rps]" in out
    assert "distribution P10-P90: triangular(low 30, mode 40, high 55)" in out
    assert "default range:" in out


def test_cli_json_parses_without_nan(capsys):
    argv = ["sensitivity", str(PARAMS_DIR / "scenario_a_bursty.yaml"), "--option",
            "bedrock_llama31_8b", "--json", "--set", "workload.avg_rps=4"]
    assert main(argv) == 0

    def no_nan(token):
        raise AssertionError(f"{token} in the JSON")

    out = json.loads(capsys.readouterr().out, parse_constant=no_nan)
    assert out["options"] == ["bedrock_llama31_8b"]
    assert {r["option"] for r in out["rows"]} == {"bedrock_llama31_8b"}
    assert out["rows"][0]["rank"] == 1


@pytest.mark.parametrize("argv", [
    ["sensitivity", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--option", "nope"],
    ["sensitivity", str(PARAMS_DIR / "missing.yaml")],
    ["sensitivity", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--top", "-1"],
    ["sensitivity", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--set", "workload.in_tokens=-5"],
])
def test_cli_bad_input_exits_2_with_one_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("costlib: error:") and err.count("\n") == 1


# --------------------------------------------------------------------------------------------
# inputs given as distributions


UNCERTAIN_B = PARAMS_DIR.parent / "tests" / "fixtures" / "uncertainty" / "scenario_b_uncertain.yaml"


def test_a_distributed_input_moves_between_its_p10_and_p90():
    """The fixture's avg_rps is triangular(30, 40, 60): by hand, the CDF below the mode is
    (x - 30)^2 / ((60 - 30)(40 - 30)) = (x - 30)^2 / 300, so P10 = 30 + sqrt(30) = 35.4772;
    above the mode 1 - (60 - x)^2 / ((60 - 30)(60 - 40)) = 0.9 gives P90 = 60 - sqrt(60) = 52.2540."""
    params = load_params(UNCERTAIN_B)
    t = tornado(params, BEDROCK)
    row = t.frame[t.frame["key"] == "workload.avg_rps"].iloc[0]
    assert row["low"] == pytest.approx(30 + 30 ** 0.5, rel=1e-12)
    assert row["high"] == pytest.approx(60 - 60 ** 0.5, rel=1e-12)
    assert row["origin"].startswith("distribution P10-P90")
    for end in ("low", "high"):
        alone = estimate(with_overrides(params, {"workload.avg_rps": float(row[end])}))
        monthly = {o.name: o.monthly_usd for o in alone.options}[BEDROCK]
        assert row[f"{end}_usd"] == pytest.approx(monthly, rel=REL)


def test_a_distributed_average_rate_replaces_the_default_traffic_range():
    """The average rate is moved once, by its distribution, not also by the traffic default."""
    t = tornado(load_params(UNCERTAIN_B), BEDROCK)
    assert "traffic" not in set(t.frame["key"])
    assert "traffic" in set(tornado(at_points(load_params(UNCERTAIN_B)), BEDROCK).frame["key"])
