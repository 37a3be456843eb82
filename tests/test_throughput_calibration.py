"""Calibration of the throughput model against published benchmarks (costlib/data/benchmarks.csv)."""

import pytest

from costlib.formulas.throughput import calibration
from costlib.tables import hardware as catalog


def test_calibration_errors_within_thresholds():
    df = calibration.calibration_table()
    print("\n" + df.to_string(index=False))  # per-row errors (pytest -s shows them)
    worst = max(df["ratio"].max(), (1 / df["ratio"]).max())
    print(f"median |error| {df['abs_error'].median():.1%}, worst factor {worst:.2f}")
    assert len(df) >= 15 and df["gpu"].nunique() >= 3
    assert df["abs_error"].median() <= 0.25
    assert ((df["ratio"] <= 2.0) & (df["ratio"] >= 0.5)).all(), df[(df["ratio"] > 2) | (df["ratio"] < 0.5)]


def test_fit_efficiencies_matches_stored():
    fit = calibration.fit_efficiencies("trtllm")
    eng = catalog.get_engine("trtllm")
    for key in calibration.FIT_KEYS:
        assert fit[key] == pytest.approx(getattr(eng, key), abs=1e-9), key


def test_vllm_profile_inherits_trtllm_factors():
    v, t = catalog.get_engine("vllm"), catalog.get_engine("trtllm")
    assert v.fitted_from == "trtllm"
    assert (v.eta_bandwidth, v.eta_compute) == (t.eta_bandwidth, t.eta_compute)
    assert v.max_num_seqs == 256 and v.kv_fraction_of == "total"


def test_efficiency_factors_physical():
    e = catalog.get_engine("trtllm")
    assert 0 < e.eta_bandwidth <= 1 and 0 < e.eta_compute <= 1


def test_memory_is_not_a_fitted_factor():
    # the flat fitted 10 GiB reserve made 8B bf16 "not fit" a 24 GB A10G; memory terms are physical now
    assert not any("reserve" in k or "memory" in k for k in calibration.FIT_KEYS)
    for name in ("trtllm", "vllm"):
        e = catalog.get_engine(name)
        assert 0 < e.fixed_memory_gib < 2 and e.max_batched_tokens >= 2048
