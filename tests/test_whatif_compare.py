"""Tests of costlib.whatif.compare: one params file priced before and after overrides."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate
from costlib.bill.lineitems import CATEGORIES
from costlib.bill.params import load_params, with_overrides
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.whatif import Comparison, compare, sweep
from costlib.whatif.compare import change_pct
from test_estimate import EXPLICIT

PARAMS_FILES = sorted(PARAMS_DIR.glob("*.yaml"))


@pytest.fixture
def explicit(tmp_path, no_plumbing):
    path = tmp_path / "explicit.yaml"
    path.write_text(EXPLICIT)
    return load_params(path)


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
def test_compare_without_overrides_is_all_zeros(path):
    c = compare(load_params(path))
    totals = c.totals()
    assert list(totals["option"]) == [o.name for o in c.before.options]
    assert (totals["change_usd"] == 0).all() and (totals["change_pct"] == 0).all()
    assert (c.by_category()["change_usd"] == 0).all()


@pytest.mark.parametrize("overrides", [
    {"workload.in_tokens": 500},
    {"network.aws_path": "privatelink", "observability.payload_sample_rate": 0.05},
    {"workload.out_tokens": 200},
], ids=["prompt", "plumbing", "output"])
@pytest.mark.parametrize("name", ["default.yaml", "rag_plumbing.yaml"])
def test_category_deltas_sum_to_the_total_delta(name, overrides):
    c = compare(load_params(PARAMS_DIR / name), overrides)
    cats = c.by_category().groupby("option", sort=False)["change_usd"].sum()
    totals = c.totals().set_index("option")
    assert_allclose(cats.reindex(totals.index), totals["change_usd"], rtol=1e-9, atol=1e-6)
    # and before/after category sums are the estimates' totals
    before = c.by_category().groupby("option")["before_usd"].sum()
    assert_allclose(before.reindex(totals.index), totals["before_usd"], rtol=1e-12)
    assert any(totals["change_usd"] != 0)


def test_hand_checked_batch_override_halves_the_fleet(explicit):
    # fleet: p95 2 rps x 150 tokens = 300 tokens/s; batch 2 x 100 tokens/s = 200 per instance
    # -> 2 instances x 730 h x 1.006 USD = 1,468.76 USD. Batch 4: 400 per instance -> 1
    # instance = 734.38 USD, a change of -734.38 USD (-50 %). The api (86.724 USD) is unchanged.
    c = compare(explicit, {"options.fleet.batch_size": 4})
    t = c.totals().set_index("option")
    assert_allclose(t.loc["fleet", ["before_usd", "after_usd", "change_usd", "change_pct"]]
                    .astype(float), [1468.76, 734.38, -734.38, -50.0])
    assert_allclose(t.loc["api", ["before_usd", "after_usd", "change_usd"]].astype(float),
                    [86.724, 86.724, 0.0])
    assert c.change("fleet") == pytest.approx(-734.38)
    cats = c.by_category().set_index(["option", "category"])["change_usd"]
    assert cats.loc["fleet"].sum() == pytest.approx(-734.38)
    assert set(cats.loc["fleet"].index) >= set(CATEGORIES)


def test_hand_checked_traffic_override_is_linear_for_tokens(explicit):
    # api: 86.724 USD at 1 rps; 1.5 rps -> 130.086 USD (+43.362, +50 %)
    c = compare(explicit, {"workload.avg_rps": 1.5})
    t = c.totals().set_index("option")
    assert t.loc["api", "after_usd"] == pytest.approx(130.086)
    assert t.loc["api", "change_pct"] == pytest.approx(50.0)


def test_comparison_matches_with_overrides_then_estimate(explicit):
    overrides = {"workload.avg_rps": 1.5}
    c = compare(explicit, overrides)
    expected = estimate(with_overrides(explicit, overrides))
    assert c.after.to_dict() == expected.to_dict()
    assert c.before.to_dict() == estimate(explicit).to_dict()
    assert c.overrides == overrides


def test_to_frame_is_tidy_before_and_after(explicit):
    c = compare(explicit, {"options.fleet.batch_size": 4})
    f = c.to_frame()
    assert list(f.columns) == ["option", "kind", "category", "case", "monthly_usd"]
    assert set(f["case"]) == {"before", "after"}
    sums = f.groupby(["option", "case"])["monthly_usd"].sum()
    assert sums[("fleet", "after")] == pytest.approx(734.38)
    assert sums[("api", "before")] == pytest.approx(86.724)


def test_compare_reuses_a_given_before_and_prices_only_some_options(explicit):
    base = estimate(explicit)
    c = compare(explicit, {"options.fleet.batch_size": 4}, before=base)
    assert c.before is base
    only = compare(explicit, {"options.fleet.batch_size": 4}, options=["fleet"])
    assert [o.name for o in only.before.options] == ["fleet"]
    assert [o.name for o in only.after.options] == ["fleet"]


def test_comparison_of_two_estimates(explicit):
    a = estimate(explicit)
    b = estimate(with_overrides(explicit, {"workload.avg_rps": 1.5}))
    assert Comparison(a, b).totals()["after_usd"].tolist() == [o.monthly_usd for o in b.options]


def test_bad_override_is_a_one_line_error(explicit):
    with pytest.raises(CostlibError, match="avg_rsp"):
        compare(explicit, {"workload.avg_rsp": 2})


def test_change_pct_zero_before():
    assert change_pct(0.0, 5.0) == 0.0
    assert change_pct(200.0, 150.0) == -25.0


def test_sweep_repeats_compare(explicit):
    s = sweep(explicit, "workload.avg_rps", [1.0, 1.5])
    api = s[s.option == "api"].set_index("avg_rps")["monthly_usd"]
    assert_allclose(api.to_numpy(), [86.724, 130.086])
