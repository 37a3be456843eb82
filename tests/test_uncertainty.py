"""Uncertain inputs (costlib.bill.distributions) and the Monte Carlo (costlib.whatif.uncertainty).

Oracles: quantiles worked by hand from each distribution's closed form (shown beside each test);
published standard-normal quantiles; analytic means against seeded sample means within five
standard errors; properties of the Monte Carlo (a degenerate distribution reproduces the point
estimate, P(cheapest) sums to 1, percentiles are ordered, a bill linear in a price has its P50 at
the price's sample median); and the one-line errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from costlib.bill.distributions import (Beta, LogNormal, Triangular, Uniform, betainc, norm_ppf,
                                        parse_distribution)
from costlib.bill.estimate import estimate
from costlib.bill.params import (apply_overrides, load_params, parse_set_overrides,
                                 uncertain_inputs, with_overrides)
from costlib.cli import main
from costlib.core.errors import CostlibError
from costlib.whatif.uncertainty import DEFAULT_SEED, monte_carlo, structural_atoms

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_B = ROOT / "tests" / "fixtures" / "uncertainty" / "scenario_b_plain.yaml"
FIXTURE = ROOT / "tests" / "fixtures" / "uncertainty" / "scenario_b_uncertain.yaml"
LLAMA_IN = "options.bedrock_llama31_70b.usd_per_1m_input_tokens"


def _dist(**spec):
    return parse_distribution(spec, "test.yaml", "k")


def _write(tmp_path, overrides: dict, name="p.yaml") -> Path:
    """Scenario B with ``{dotted.key: value}`` written into the YAML (values may be dists)."""
    data = yaml.safe_load(SCENARIO_B.read_text())
    path = tmp_path / name
    path.write_text(yaml.safe_dump(apply_overrides(data, overrides)))
    return path


@pytest.fixture(scope="module")
def scenario_b():
    return load_params(SCENARIO_B)


@pytest.fixture(scope="module")
def point_totals(scenario_b):
    return {o.name: o.monthly_usd for o in estimate(scenario_b).options}


# --------------------------------------------------------------------------------------------
# special functions


@pytest.mark.parametrize("q, z", [
    # standard normal quantiles to 16 digits, as published in the "Normal distribution" article
    # of Wikipedia (table of quantiles) and the NIST/SEMATECH e-Handbook, section 1.3.6.7.1
    (0.9, 1.2815515655446004),
    (0.95, 1.6448536269514722),
    (0.975, 1.959963984540054),
    (0.995, 2.5758293035489004),
    (0.5, 0.0),
])
def test_norm_ppf_matches_published_z_values(q, z):
    assert norm_ppf(q) == pytest.approx(z, rel=1e-14, abs=1e-15)
    assert norm_ppf(1 - q) == pytest.approx(-z, rel=1e-14, abs=1e-15)  # symmetry


def test_norm_ppf_inverts_the_normal_cdf_in_the_tails():
    # Phi(z) = erfc(-z / sqrt 2) / 2, computed independently by math.erfc
    for q in (1e-12, 1e-6, 0.01, 0.02425, 0.3, 0.97575, 0.999999):
        z = norm_ppf(q)
        assert 0.5 * math.erfc(-z / math.sqrt(2)) == pytest.approx(q, rel=1e-12)


def test_norm_ppf_takes_arrays_and_gives_infinite_ends():
    out = norm_ppf([0.0, 0.5, 1.0])
    assert out[0] == -np.inf and out[1] == 0.0 and out[2] == np.inf


def test_betainc_against_closed_forms():
    # I_x(1, 1) = x; I_x(2, 1) = x^2; I_x(2, 3) = 1 - (1-x)^4 - 4x(1-x)^3 (binomial sum), 11/16 at 1/2
    for x in (0.1, 0.37, 0.9):
        assert betainc(1, 1, x) == pytest.approx(x, rel=1e-13)
        assert betainc(2, 1, x) == pytest.approx(x * x, rel=1e-13)
        assert betainc(2, 3, x) == pytest.approx(1 - (1 - x) ** 4 - 4 * x * (1 - x) ** 3,
                                                 rel=1e-12)
    assert betainc(2, 3, 0.5) == pytest.approx(11 / 16, rel=1e-13)


# --------------------------------------------------------------------------------------------
# quantiles by hand


def test_uniform_quantiles_and_point():
    d = _dist(dist="uniform", low=10, high=30)
    # low + q (high - low)
    assert d.ppf([0.0, 0.1, 0.5, 0.9, 1.0]) == pytest.approx([10, 12, 20, 28, 30])
    assert d.point == 20 and d.support == (10, 30)


def test_triangular_quantiles_by_hand():
    d = _dist(dist="triangular", low=0, mode=1, high=4)
    # F(mode) = (c - a) / (b - a) = 1/4. Below it x = a + sqrt(q (b-a)(c-a)) = sqrt(4 q):
    #   q = 0.1 -> sqrt(0.4) = 0.632455...
    # above it x = b - sqrt((1-q)(b-a)(b-c)) = 4 - sqrt(12 (1-q)):
    #   q = 0.5 -> 4 - sqrt(6) = 1.550510...; q = 0.9 -> 4 - sqrt(1.2) = 2.904554...
    assert d.ppf(0.1) == pytest.approx(math.sqrt(0.4), rel=1e-12)
    assert d.ppf(0.25) == pytest.approx(1.0, rel=1e-12)
    assert d.ppf(0.5) == pytest.approx(4 - math.sqrt(6), rel=1e-12)
    assert d.ppf(0.9) == pytest.approx(4 - math.sqrt(1.2), rel=1e-12)
    assert d.point == 1 and d.mean == pytest.approx(5 / 3)


def test_lognormal_quantiles_are_median_times_exp_sigma_z():
    d = _dist(dist="lognormal", median=2.0, sigma=0.5)
    z90 = 1.2815515655446004  # published, see above
    assert d.ppf(0.9) == pytest.approx(2.0 * math.exp(0.5 * z90), rel=1e-13)
    assert d.ppf(0.1) == pytest.approx(2.0 * math.exp(-0.5 * z90), rel=1e-13)
    assert d.ppf(0.5) == pytest.approx(2.0, rel=1e-14)
    # the p90 form: sigma = ln(p90 / median) / z90, so the P90 is the p90 given
    e = _dist(dist="lognormal", median=0.72, p90=0.9)
    assert e.ppf(0.9) == pytest.approx(0.9, rel=1e-13)
    assert e.sigma == pytest.approx(math.log(0.9 / 0.72) / z90, rel=1e-14)
    assert e.point == 0.72


def test_beta_quantiles_against_closed_forms():
    # Beta(2, 1) has CDF x^2, so ppf(q) = sqrt(q); scaled to [10, 20]: 10 + 10 sqrt(q)
    d = _dist(dist="beta", alpha=2, beta=1, low=10, high=20)
    for q in (0.1, 0.5, 0.9):
        assert d.ppf(q) == pytest.approx(10 + 10 * math.sqrt(q), rel=1e-12)
    assert d.point == pytest.approx(10 + 10 * 2 / 3)  # the mean a / (a + b), scaled
    # Beta(3, 3) is symmetric: its median is 1/2
    assert _dist(dist="beta", alpha=3, beta=3).ppf(0.5) == pytest.approx(0.5, abs=1e-12)


def test_beta_from_mean_and_sd_has_that_mean_and_sd():
    d = _dist(dist="beta", mean=0.1, sd=0.03)
    a, b = d.alpha, d.beta
    # method of moments: mean a/(a+b), variance ab / ((a+b)^2 (a+b+1))
    assert a / (a + b) == pytest.approx(0.1, rel=1e-12)
    assert math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) == pytest.approx(0.03, rel=1e-12)
    assert d.support == (0.0, 1.0) and d.point == pytest.approx(0.1)


@pytest.mark.parametrize("spec", [
    {"dist": "uniform", "low": 5, "high": 5},
    {"dist": "triangular", "low": 5, "mode": 5, "high": 5},
    {"dist": "lognormal", "median": 5, "sigma": 0},
    {"dist": "lognormal", "median": 5, "p90": 5},
    {"dist": "beta", "mean": 5, "sd": 0, "low": 0, "high": 10},
])
def test_degenerate_forms_are_one_number(spec):
    d = parse_distribution(spec, "t.yaml", "k")
    assert d.degenerate and d.point == 5
    assert np.all(d.sample(np.random.default_rng(0), 100) == 5)
    assert d.ppf(0.1) == d.ppf(0.9) == 5


def test_point_overrides_the_default_point():
    assert _dist(dist="uniform", low=0, high=10, point=3).point == 3


# --------------------------------------------------------------------------------------------
# sampling


@pytest.mark.parametrize("spec, mean, sd", [
    ({"dist": "uniform", "low": 2, "high": 8}, 5.0, 6 / math.sqrt(12)),
    # triangular: mean (a+b+c)/3, variance (a^2+b^2+c^2-ab-ac-bc)/18
    ({"dist": "triangular", "low": 0, "mode": 1, "high": 4}, 5 / 3,
     math.sqrt((0 + 1 + 16 - 0 - 0 - 4) / 18)),
    # lognormal: mean m exp(s^2/2), variance (exp(s^2) - 1) m^2 exp(s^2)
    ({"dist": "lognormal", "median": 2, "sigma": 0.5}, 2 * math.exp(0.125),
     math.sqrt((math.exp(0.25) - 1) * 4 * math.exp(0.25))),
    ({"dist": "beta", "mean": 0.3, "sd": 0.1}, 0.3, 0.1),
])
def test_seeded_sample_mean_is_within_five_standard_errors(spec, mean, sd):
    n = 200_000
    x = parse_distribution(spec, "t.yaml", "k").sample(np.random.default_rng(1), n)
    assert abs(x.mean() - mean) < 5 * sd / math.sqrt(n)
    assert x.std() == pytest.approx(sd, rel=0.02)


def test_structural_atoms_are_midpoint_quantiles():
    d = _dist(dist="uniform", low=0, high=8)
    # (i + 0.5) / 4 of [0, 8]: 1, 3, 5, 7
    assert structural_atoms(d, 4) == pytest.approx([1, 3, 5, 7])
    assert list(structural_atoms(_dist(dist="uniform", low=0, high=3), 4, integer=True)) == \
        [0.0, 1.0, 2.0, 3.0]  # 0.375, 1.125, 1.875, 2.625 rounded


# --------------------------------------------------------------------------------------------
# loading


def test_plain_number_and_degenerate_dist_load_to_the_same_estimate(tmp_path, point_totals):
    path = _write(tmp_path, {"workload.avg_rps": {"dist": "triangular", "low": 40, "mode": 40,
                                                  "high": 40},
                             LLAMA_IN: {"dist": "lognormal", "median": 0.72, "sigma": 0}})
    plain = load_params(_write(tmp_path, {LLAMA_IN: 0.72}, "plain.yaml"))
    got = {o.name: o.monthly_usd for o in estimate(load_params(path)).options}
    want = {o.name: o.monthly_usd for o in estimate(plain).options}
    assert got == want
    assert set(uncertain_inputs(load_params(path))) == {"workload.avg_rps", LLAMA_IN}
    assert uncertain_inputs(plain) == {}


def test_point_value_is_what_the_plain_estimate_prices(tmp_path):
    p = load_params(_write(tmp_path, {"workload.avg_rps": {"dist": "uniform", "low": 30,
                                                           "high": 50}}))
    assert p.workload.avg_rps == 40.0  # the midpoint


def test_set_override_may_be_a_distribution(scenario_b):
    over = parse_set_overrides([f"{LLAMA_IN}={{dist: triangular, low: 0.6, mode: 0.72, high: 1}}"])
    p = load_params(SCENARIO_B, over)
    d = uncertain_inputs(p)[LLAMA_IN]
    assert isinstance(d, Triangular) and d.ppf(0.0) == 0.6
    assert p.options["bedrock_llama31_70b"].usd_per_1m_input_tokens == 0.72


def test_with_overrides_keeps_other_distributions_and_drops_the_overridden():
    p = load_params(FIXTURE)
    assert set(p.uncertain) == {"workload.avg_rps", LLAMA_IN}
    q = with_overrides(p, {"workload.avg_rps": 33})
    assert set(q.uncertain) == {LLAMA_IN} and q.workload.avg_rps == 33
    r = with_overrides(p, {"workload.in_tokens": {"dist": "uniform", "low": 1800, "high": 2200}})
    assert set(r.uncertain) == {"workload.avg_rps", LLAMA_IN, "workload.in_tokens"}
    assert isinstance(r.uncertain["workload.avg_rps"], Triangular)
    s = with_overrides(p, {"options.bedrock_llama31_70b": {"kind": "managed_api", "model":
                                                           "meta.llama3-1-70b-instruct-v1:0"}})
    assert set(s.uncertain) == {"workload.avg_rps"}  # the section replaced: its dist goes


def test_integer_key_point_is_rounded(tmp_path):
    p = load_params(_write(tmp_path, {"observability.alarms": {"dist": "uniform", "low": 0,
                                                               "high": 7}}))
    assert p.observability.alarms == 4  # midpoint 3.5 rounded (to even)
    assert isinstance(uncertain_inputs(p)["observability.alarms"], Uniform)


@pytest.mark.parametrize("key, value, words", [
    ("workload.avg_rps", {"dist": "gamma", "low": 1, "high": 2}, ["unknown dist 'gamma'",
                                                                  "uniform, triangular"]),
    ("workload.avg_rps", {"dist": "triangular", "low": 30, "high": 60}, ["missing mode"]),
    ("workload.avg_rps", {"dist": "uniform", "low": 30, "high": 60, "mode": 40},
     ["unknown field(s) mode"]),
    ("workload.avg_rps", {"dist": "triangular", "low": 50, "mode": 40, "high": 60},
     ["low <= mode <= high"]),
    ("workload.avg_rps", {"dist": "uniform", "low": 30, "high": float("inf")},
     ["finite number"]),
    ("workload.avg_rps", {"dist": "uniform", "low": 30, "high": "sixty"}, ["finite number"]),
    ("workload.avg_rps", {"dist": "uniform", "low": 0, "high": 60}, ["must be > 0"]),
    ("observability.log_sample_rate", {"dist": "lognormal", "median": 0.5, "sigma": 0.2},
     ["<= 1", "use beta or triangular"]),
    ("observability.log_sample_rate", {"dist": "beta", "mean": 0.5, "sd": 0.6},
     ["too large"]),
    ("options.p5_vllm_llama31_70b.instance", {"dist": "uniform", "low": 1, "high": 2},
     ["not a number", "numeric keys here: options.p5_vllm_llama31_70b."]),
    ("uncertainty.draws", {"dist": "uniform", "low": 1, "high": 2}, ["not a number"]),
    ("workload.avg_rps", {"dist": "uniform", "low": 1, "high": 2, "point": 5},
     ["outside the support"]),
])
def test_bad_distribution_is_one_line_naming_file_and_key(tmp_path, key, value, words):
    path = _write(tmp_path, {key: value})
    with pytest.raises(CostlibError) as err:
        load_params(path)
    msg = err.value.message
    assert "\n" not in msg and str(path) in msg and key in msg, msg
    for w in words:
        assert w in msg, msg


# --------------------------------------------------------------------------------------------
# the Monte Carlo


def test_degenerate_distributions_give_p50_equal_to_the_point_estimate(tmp_path, point_totals):
    # every kind degenerate, on continuous and structural keys alike
    path = _write(tmp_path, {
        "workload.avg_rps": {"dist": "uniform", "low": 40, "high": 40},
        "workload.in_tokens": {"dist": "triangular", "low": 2000, "mode": 2000, "high": 2000},
        LLAMA_IN: {"dist": "lognormal", "median": 0.72, "sigma": 0},
        "failures.retry_budget_fraction": {"dist": "beta", "mean": 0.1, "sd": 0},
    })
    mc = monte_carlo(load_params(path), draws=500)
    for name, usd in point_totals.items():
        assert mc.point_usd[name] == pytest.approx(usd, rel=1e-9)
        for q in (mc.p10_usd, mc.p50_usd, mc.p90_usd):
            assert q[name] == pytest.approx(usd, rel=1e-9), name


def test_seeded_runs_are_equal_and_other_seeds_differ():
    p = load_params(FIXTURE)
    a, b = monte_carlo(p, draws=2000, seed=7), monte_carlo(p, draws=2000, seed=7)
    c = monte_carlo(p, draws=2000, seed=8)
    assert a.to_dict() == b.to_dict()
    assert all(np.array_equal(a.totals[o], b.totals[o]) for o in a.options)
    assert a.p50_usd != c.p50_usd
    assert monte_carlo(p, draws=10).seed == DEFAULT_SEED


def test_file_block_sets_draws_and_seed():
    p = with_overrides(load_params(FIXTURE), {"uncertainty": {"draws": 123, "seed": 5}})
    mc = monte_carlo(p)
    assert mc.draws == 123 and mc.seed == 5 and len(mc.totals[mc.options[0]]) == 123


def test_probabilities_sum_to_one_and_percentiles_are_ordered():
    mc = monte_carlo(load_params(FIXTURE), draws=3000)
    assert sum(mc.p_cheapest.values()) == pytest.approx(1.0, abs=1e-12)
    for o in mc.options:
        assert mc.p10_usd[o] <= mc.p50_usd[o] <= mc.p90_usd[o]
    # the share is counted from the totals: the first option on ties, as Bill.cheapest
    stacked = np.vstack([mc.totals[o] for o in mc.options])
    first = np.argmin(stacked, axis=0)
    assert mc.p_cheapest[mc.options[0]] == pytest.approx(np.mean(first == 0))


def test_bill_linear_in_a_price_has_its_p50_at_the_prices_median(scenario_b):
    p = load_params(SCENARIO_B, {LLAMA_IN: {"dist": "lognormal", "median": 0.72, "sigma": 0.3}})
    mc = monte_carlo(p, draws=4001)  # odd: the sample median is one draw
    name = "bedrock_llama31_70b"
    drawn_median = float(np.median(mc.inputs[LLAMA_IN]))
    at = {o.name: o.monthly_usd for o in estimate(with_overrides(p, {LLAMA_IN: drawn_median}))
          .options}
    # the total is increasing and linear in the price: its median is the total at the median
    assert mc.p50_usd[name] == pytest.approx(at[name], rel=1e-9)
    # and the other options do not depend on it
    other = "bedrock_claude_sonnet_45"
    assert mc.p10_usd[other] == pytest.approx(mc.p90_usd[other], rel=1e-12)
    # at the distribution's median within the sampling error (the sample median of 4,001
    # lognormal draws with sigma 0.3 is within ~2% of 0.72 with high probability)
    at_median = estimate(with_overrides(p, {LLAMA_IN: 0.72})).options
    assert mc.p50_usd[name] == pytest.approx(
        next(o.monthly_usd for o in at_median if o.name == name), rel=0.02)


def test_structural_inputs_take_at_most_levels_values_in_a_latin_hypercube(scenario_b):
    over = {"observability.alarms": {"dist": "uniform", "low": 0, "high": 40},
            "observability.dashboards": {"dist": "triangular", "low": 0, "mode": 2, "high": 10},
            LLAMA_IN: {"dist": "uniform", "low": 0.6, "high": 0.8}}
    p = load_params(SCENARIO_B, over)
    mc = monte_carlo(p, draws=1000, levels=5)
    assert set(mc.structural) == {"observability.alarms", "observability.dashboards"}
    assert mc.groups <= 5
    alarms = mc.inputs["observability.alarms"]
    # the atoms: uniform [0, 40] at (i + 0.5) / 5 = 4, 12, 20, 28, 36, each 1000 / 5 times
    values, counts = np.unique(alarms, return_counts=True)
    assert list(values) == [4, 12, 20, 28, 36] and list(counts) == [200] * 5
    pairs = {(a, d) for a, d in zip(alarms, mc.inputs["observability.dashboards"])}
    assert len(pairs) == 5  # a Latin hypercube of 5 rows, not 5 x 5 combinations
    assert len(np.unique(mc.inputs[LLAMA_IN])) > 900  # continuous: drawn afresh
    assert any("Latin hypercube" in n for n in mc.notes)
    assert any("correlations" in n for n in mc.notes)


def test_no_distribution_is_an_error_showing_the_syntax(scenario_b):
    with pytest.raises(CostlibError, match=r"no input is given as a distribution.*dist: "):
        monte_carlo(scenario_b)


def test_to_frame_and_dict():
    mc = monte_carlo(load_params(FIXTURE), draws=200)
    frame = mc.to_frame()
    assert list(frame["option"]) == mc.options
    assert {"point_usd", "p10_usd", "p50_usd", "p90_usd", "p_cheapest"} <= set(frame)
    d = json.loads(json.dumps(mc.to_dict(arrays=True), allow_nan=False))
    assert len(d["drawn"]["workload.avg_rps"]) == 200


# --------------------------------------------------------------------------------------------
# command line and chart


def _reject(const):
    raise ValueError(f"non-JSON constant {const}")


def test_cli_json_is_valid_json(capsys):
    assert main(["uncertainty", str(FIXTURE), "--draws", "500", "--json"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=_reject)
    assert set(out["options"]) == {"bedrock_llama31_70b", "bedrock_claude_sonnet_45",
                                   "p4d_vllm_llama31_70b", "p5_vllm_llama31_70b"}
    assert out["inputs"]["workload.avg_rps"]["dist"] == "triangular"
    assert out["inputs"][LLAMA_IN]["support"][1] == "inf"


def test_cli_text_lists_options_inputs_and_notes(capsys):
    assert main(["uncertainty", str(FIXTURE), "--draws", "300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "P(cheapest)" in out and "p5_vllm_llama31_70b" in out
    assert "triangular(low 30, mode 40, high 60)" in out and "notes:" in out


def test_cli_without_distributions_exits_2_with_one_line(capsys):
    assert main(["uncertainty", str(SCENARIO_B)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "{dist: triangular" in err


def test_cli_set_gives_a_distribution(capsys):
    assert main(["uncertainty", str(SCENARIO_B), "--draws", "200", "--json", "--set",
                 f"{LLAMA_IN}={{dist: uniform, low: 0.6, high: 0.8}}"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=_reject)
    assert out["inputs"][LLAMA_IN]["dist"] == "uniform"


def test_uncertainty_bands_chart_has_band_median_and_point():
    from costlib.lessons.charts import uncertainty_bands

    spec = uncertainty_bands(monte_carlo(load_params(FIXTURE), draws=200).to_frame()).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["bar", "tick", "point"]
    assert spec["layer"][0]["encoding"]["x2"]["field"] == "p90_usd"


# --------------------------------------------------------------------------------------------
# the params files themselves


def test_scenario_b_with_distributions_estimates_as_the_plain_numbers_do():
    """Scenario B's distributions sit on the article's numbers: the point estimate is unchanged
    (the plain fixture is the file as it was before the distributions, with p95_rps: 40)."""
    plain = {o.name: o.monthly_usd for o in estimate(load_params(SCENARIO_B)).options}
    uncertain = load_params(ROOT / "params" / "scenario_b_steady.yaml")
    assert len(uncertain_inputs(uncertain)) == 3
    assert {o.name: o.monthly_usd for o in estimate(uncertain).options} == plain


@pytest.mark.parametrize("path", sorted((ROOT / "params").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_params_files_distributions_can_be_drawn(path):
    """Every draw of every file's distributions is a valid params file (the ranges were chosen
    so that the traffic profile can be built whatever the other inputs draw)."""
    params = load_params(path)
    if not uncertain_inputs(params):
        pytest.skip(f"{path.name} gives no input as a distribution")
    mc = monte_carlo(params, draws=2_000)
    for name in mc.options:
        assert mc.p10_usd[name] <= mc.p50_usd[name] <= mc.p90_usd[name]
    assert sum(mc.p_cheapest.values()) == pytest.approx(1.0, abs=1e-12)
