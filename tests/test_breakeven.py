"""Break-even of one input between two options (:mod:`costlib.whatif.breakeven`).

Oracles: a hand computation where the bill is affine in the key (scenario B, the Bedrock Llama
70B input-token price against the p5 vLLM fleet: the managed bill is ``rest + price x input
tokens``, so ``price* = (p5 total - rest) / input tokens``, from the estimate's line items); a
direct fine sweep with ``price_many`` whose sign-change bracket must hold the solver's answer; and
properties (no crossing says so; the traffic key keeps the shape valid; a step of a fleet's bill
is a jump, not a root).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params, with_overrides
from costlib.bill.vector import price_many
from costlib.cli import main
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.whatif.breakeven import REL_TOLERANCE, breakeven

BEDROCK, P5, P4D, SONNET = ("bedrock_llama31_70b", "p5_vllm_llama31_70b",
                            "p4d_vllm_llama31_70b", "bedrock_claude_sonnet_45")
PRICE = f"options.{BEDROCK}.usd_per_1m_input_tokens"


@pytest.fixture(scope="module")
def scenario_b():
    return load_params(PARAMS_DIR / "scenario_b_steady.yaml")


def test_breakeven_input_price_by_hand(scenario_b):
    result = estimate(scenario_b)
    bedrock = next(o for o in result.options if o.name == BEDROCK)
    p5 = next(o for o in result.options if o.name == P5)
    tokens = next(li for li in bedrock.line_items if "input tokens" in li.item)
    rest = bedrock.monthly_usd - tokens.monthly_usd
    by_hand = (p5.monthly_usd - rest) / tokens.quantity  # [USD/1M tokens]
    b = breakeven(scenario_b, PRICE, BEDROCK, P5)
    assert b.current == pytest.approx(tokens.unit_usd)
    assert len(b.crossings) == 1
    c = b.crossings[0]
    assert c.kind == "root"
    assert_allclose(c.value, by_hand, rtol=1e-9)
    assert_allclose([c.cost_a_usd, c.cost_b_usd], p5.monthly_usd, rtol=1e-9)
    assert (c.cheaper_below, c.cheaper_above) == (BEDROCK, P5)
    assert (b.cheaper_at_lo, b.cheaper_at_hi) == (BEDROCK, P5)
    # default range: a tenth to ten times the price in use
    assert_allclose([b.lo, b.hi], [tokens.unit_usd / 10, tokens.unit_usd * 10])
    # and the scalar estimate at the answer agrees
    at = estimate(with_overrides(scenario_b, {PRICE: c.value}))
    tot = {o.name: o.monthly_usd for o in at.options}
    assert_allclose(tot[BEDROCK], tot[P5], rtol=1e-8)


def test_breakeven_agrees_with_a_fine_sweep(scenario_b):
    b = breakeven(scenario_b, "traffic", SONNET, P5, lo=0.05, hi=5.0)
    assert len(b.crossings) == 1
    c = b.crossings[0]
    values = np.linspace(0.05, 5.0, 2001)
    avg, p95 = scenario_b.workload.avg_rps, scenario_b.workload.p95_rps
    rates = {"workload.avg_rps": values}
    if p95 is not None:  # a steady profile without one: its p95 follows the average
        rates["workload.p95_rps"] = values * p95 / avg
    bill = price_many(scenario_b, rates)
    diff = bill.total(SONNET) - bill.total(P5)
    i = np.flatnonzero(np.sign(diff[:-1]) != np.sign(diff[1:]))
    assert i.size == 1
    i = int(i[0])
    assert values[i] <= c.value <= values[i + 1]
    interp = values[i] - diff[i] * (values[i + 1] - values[i]) / (diff[i + 1] - diff[i])
    assert abs(c.value - interp) <= values[1] - values[0]
    # the grid returned for a chart is the first sweep's
    g = b.grid
    assert len(g["values"]) == 64 and g["values"][0] == 0.05 and g["values"][-1] == 5.0
    assert_allclose(g[SONNET] - g[P5], np.interp(g["values"], values, diff), rtol=1e-6,
                    atol=1.0)


def test_breakeven_no_crossing_says_so(scenario_b):
    b = breakeven(scenario_b, "traffic", SONNET, BEDROCK)
    assert not b.found and b.crossings == ()
    assert b.cheaper_at_lo == b.cheaper_at_hi == BEDROCK
    assert b.note.startswith("No break-even for traffic from 4 to 400")
    assert BEDROCK in b.note


def test_breakeven_traffic_keeps_the_shape():
    params = load_params(PARAMS_DIR / "scenario_a_bursty.yaml")
    t = params.workload.traffic
    hosted = next(n for n, o in params.options.items() if o.kind == "self_hosted")
    managed = next(n for n, o in params.options.items() if o.kind == "managed_api")
    # this range holds only valid workloads if peak and base scale with the average
    b = breakeven(params, "traffic", managed, hosted, lo=params.workload.avg_rps / 20,
                  hi=params.workload.avg_rps * 20, grid=16)
    assert np.all(np.isfinite(b.grid[managed])) and np.all(np.isfinite(b.grid[hosted]))
    for c in b.crossings:
        k = c.value / params.workload.avg_rps
        over = {"workload.avg_rps": c.value}
        for knob in ("peak_rps", "base_rps"):
            if getattr(t, knob) is not None:
                over[f"workload.traffic.{knob}"] = getattr(t, knob) * k
        if params.workload.p95_rps is not None:
            over["workload.p95_rps"] = params.workload.p95_rps * k
        est = estimate(with_overrides(params, over))  # a valid workload: no error
        tot = {o.name: o.monthly_usd for o in est.options}
        assert_allclose(tot[managed], c.cost_a_usd, rtol=1e-9)


def test_breakeven_fleet_step_is_a_jump(scenario_b):
    b = breakeven(scenario_b, "traffic", P4D, P5, lo=1.0, hi=10.0)
    assert b.crossings and all(c.kind == "jump" for c in b.crossings)
    for c in b.crossings:
        assert abs(c.jump_usd) > 1000  # a whole instance-month, not a rounding error
        assert c.bracket[0] <= c.value <= c.bracket[1]
        # the cheaper option really changes across a width of the tolerance
        eps = 10 * REL_TOLERANCE * c.value
        bill = price_many(scenario_b, {"workload.avg_rps": [c.value - eps, c.value + eps],
                                       "workload.p95_rps": [c.value - eps, c.value + eps]})
        d = bill.total(P4D) - bill.total(P5)
        assert np.sign(d[0]) != np.sign(d[1])
    assert "jump" in b.note


def test_breakeven_fraction_defaults_to_zero_one(scenario_b):
    b = breakeven(scenario_b, f"options.{BEDROCK}.batch_fraction", BEDROCK, P5, grid=8)
    assert (b.lo, b.hi) == (0.0, 1.0)


@pytest.mark.parametrize("key, a, b, message", [
    ("nope", BEDROCK, P5, "'nope' is not a numeric key"),
    ("workload.avg_rp", BEDROCK, P5, "did you mean workload.avg_rps"),
    ("traffic", BEDROCK, "p9", "no option 'p9'"),
    ("workload.traffic.days", BEDROCK, P5, "whole number"),
])
def test_breakeven_bad_input(scenario_b, key, a, b, message):
    with pytest.raises(CostlibError, match=message):
        breakeven(scenario_b, key, a, b)


def test_cli_breakeven_prints_the_crossing(capsys):
    code = main(["breakeven", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--key", PRICE,
                 "--between", BEDROCK, P5])
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2
    assert "cost the same" in out[1] and "= 0.966499 " in out[1]
    assert f"{BEDROCK} is cheaper below, {P5} above" in out[1]


def test_cli_breakeven_json(capsys):
    import json
    assert main(["breakeven", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--key", "traffic",
                 "--between", SONNET, BEDROCK, "--json", "--grid", "8"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["found"] is False and out["crossings"] == [] and len(out["grid"]["values"]) == 8


@pytest.mark.parametrize("argv", [["--key", "nope", "--between", BEDROCK, P5],
                                  ["--key", "traffic", "--between", BEDROCK, "p9"]])
def test_cli_breakeven_bad_input_exits_2_with_one_line(capsys, argv):
    assert main(["breakeven", str(PARAMS_DIR / "scenario_b_steady.yaml"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costlib: error: breakeven: ") and err.count("\n") == 1


# -------------------------------------------------------------------------------------------
# the chart


def test_breakeven_frame_holds_both_bills_on_the_grid_and_at_the_crossing(scenario_b):
    from costlib.lessons import charts

    b = breakeven(scenario_b, PRICE, BEDROCK, P5, grid=16)
    frame = charts.breakeven_frame(b)
    assert len(frame) == 2 * (16 + len(b.crossings))
    assert list(dict.fromkeys(frame["option"])) == [BEDROCK, P5]
    for name in (BEDROCK, P5):
        mine = frame[frame["option"] == name].set_index("value")["monthly_usd"]
        assert_allclose(mine.loc[list(b.grid["values"])], b.grid[name], rtol=0)
        assert mine.index.is_monotonic_increasing
    c = b.crossings[0]
    at = frame[frame["value"] == c.value].set_index("option")["monthly_usd"]
    assert_allclose(at[BEDROCK], at[P5], rtol=1e-6)  # a root: both bills meet


def test_breakeven_chart_marks_the_tie_today_and_uses_log_x_over_ten_times(scenario_b):
    from costlib.lessons import charts

    b = breakeven(scenario_b, PRICE, BEDROCK, P5, grid=16)  # 0.072 to 7.2: a hundredfold
    marks = charts.breakeven_marks(b)
    assert list(marks["mark"]) == ["tie", "now"]
    assert_allclose(marks["value"], [b.crossings[0].value, b.current])
    spec = charts.breakeven_chart(b).to_dict()
    assert "title" not in spec
    line = spec["layer"][0]["encoding"]
    assert line["x"]["scale"]["type"] == "log" and line["x"]["title"].endswith(
        "input price (usd per 1m tokens)")
    rule = spec["layer"][1]["encoding"]["strokeDash"]["scale"]
    assert rule["domain"] == ["tie", "now"] and rule["range"][0] != rule["range"][1]
    narrow = breakeven(scenario_b, PRICE, BEDROCK, P5, lo=0.5, hi=1.5, grid=8)  # 3x: linear
    assert "type" not in charts.breakeven_chart(narrow).to_dict()["layer"][0]["encoding"]["x"][
        "scale"]


def test_breakeven_chart_marks_a_jump_apart_from_a_tie(scenario_b):
    from costlib.lessons import charts

    b = breakeven(scenario_b, "traffic", P4D, P5, lo=1.0, hi=10.0)
    marks = charts.breakeven_marks(b)
    assert set(marks["mark"]) - {"now"} == {"jump"}
    assert charts.CROSSING_MARKS["jump"] != charts.CROSSING_MARKS["tie"]
    charts.breakeven_chart(b).to_dict()


def test_cli_breakeven_chart_writes_an_svg(tmp_path, capsys):
    target = tmp_path / "tie.svg"
    assert main(["breakeven", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--key", PRICE,
                 "--between", BEDROCK, P5, "--grid", "8", "--chart", str(target)]) == 0
    svg = target.read_text()
    assert svg.lstrip().startswith("<svg") and "tie at 0.9665" in svg
    assert "cost the same" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["tie.svg"]


def test_cli_breakeven_chart_must_be_svg_exits_2(tmp_path, capsys):
    target = tmp_path / "tie.png"
    assert main(["breakeven", str(PARAMS_DIR / "scenario_b_steady.yaml"), "--key", PRICE,
                 "--between", BEDROCK, P5, "--chart", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costlib: error: breakeven: --chart") and err.count("\n") == 1
    assert not target.exists()
