"""Tests of lesson 04's charts in costlib.lessons.charts, through each chart's Vega-Lite spec (``to_dict()``)."""

from __future__ import annotations

import pandas as pd
import pytest

from costlib.bill.options import CATEGORIES
from costlib.lessons import charts as pc


def frame():
    # Two options; hand-made line items (USD/month):
    #   api:   inference 900, network 60 + 40, observability 0 -> total 1000
    #   fleet: inference 500, operations 500                   -> total 1000
    return pd.DataFrame([
        {"option": "api", "category": "inference", "item": "tokens", "monthly_usd": 900.0},
        {"option": "api", "category": "network", "item": "NAT gateways", "monthly_usd": 60.0},
        {"option": "api", "category": "network", "item": "NAT data", "monthly_usd": 40.0},
        {"option": "api", "category": "observability", "item": "logs", "monthly_usd": 0.0},
        {"option": "fleet", "category": "inference", "item": "hours", "monthly_usd": 500.0},
        {"option": "fleet", "category": "operations", "item": "eks", "monthly_usd": 500.0},
    ])


def dataset(spec):
    (values,) = spec["datasets"].values()
    return pd.DataFrame(values)


def titles(spec):
    enc = spec["encoding"]
    return [enc[ch]["title"] for ch in ("x", "y") if enc[ch].get("title")]


def test_category_frame_every_category_and_shares():
    out = pc.category_frame(frame())
    assert len(out) == 2 * len(CATEGORIES)  # zero-filled
    api = out[out.option == "api"].set_index("category")
    # network 100 of 1000 = 10 %; inference 90 %
    assert api.loc["network", "share_pct"] == pytest.approx(10.0)
    assert api.loc["inference", "share_pct"] == pytest.approx(90.0)
    assert api.loc["security", "monthly_usd"] == 0.0
    assert out.groupby("option")["share_pct"].sum().tolist() == pytest.approx([100.0, 100.0])
    assert set(out[out.plumbing].category) == set(pc.PLUMBING_CATEGORIES)


def test_plumbing_share_spec():
    spec = pc.plumbing_share(frame()).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "share_pct"
    assert all(t == t.lower() for t in titles(spec))
    assert "(%)" in spec["encoding"]["x"]["title"]
    assert len(dataset(spec)) == 2 * len(CATEGORIES)


def test_category_items_spec_keeps_zero_items():
    spec = pc.category_items(frame(), "observability").to_dict()
    data = dataset(spec)
    assert list(data["item"]) == ["logs"] and data["monthly_usd"].iloc[0] == 0.0
    assert spec["encoding"]["x"]["title"] == "observability cost per month (usd)"
    net = dataset(pc.category_items(frame(), "network").to_dict())
    assert net["monthly_usd"].sum() == pytest.approx(100.0)  # 60 + 40


def test_category_items_unknown_category():
    with pytest.raises(ValueError, match="network"):
        pc.category_items(frame(), "netwrk")


def test_lever_changes_spec_only_targeted_priced_rows():
    report = pd.DataFrame([
        {"lever": "a", "option": "x", "applies": True, "targeted": True, "before_usd": 100.0,
         "after_usd": 80.0, "change_pct": -20.0},
        {"lever": "a", "option": "y", "applies": True, "targeted": False, "before_usd": 100.0,
         "after_usd": 100.0, "change_pct": 0.0},
        {"lever": "b", "option": "x", "applies": False, "targeted": False, "before_usd": 100.0,
         "after_usd": 100.0, "change_pct": 0.0},
        {"lever": "c", "option": "x", "applies": True, "targeted": True, "before_usd": 100.0,
         "after_usd": float("nan"), "change_pct": float("nan")},
    ])
    spec = pc.lever_changes(report).to_dict()
    data = dataset(spec)
    assert list(zip(data["lever"], data["option"])) == [("a", "x")]
    assert spec["encoding"]["x"]["title"] == "change in monthly cost (%)"
    assert spec["encoding"]["x"]["field"] == "change_pct"


def test_charts_from_a_real_estimate_stay_small(fixture_prices):
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params
    from costlib.core.paths import PARAMS_DIR

    result = estimate(load_params(PARAMS_DIR / "rag_plumbing.yaml"))
    f = result.to_frame()
    for category in pc.PLUMBING_CATEGORIES:
        data = dataset(pc.category_items(f, category).to_dict())
        assert 0 < len(data) < 5000
        # the chart's bars add up to the category's line items
        assert data["monthly_usd"].sum() == pytest.approx(
            f[f.category == category]["monthly_usd"].sum())
