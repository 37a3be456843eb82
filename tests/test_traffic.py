"""Tests for costlib.formulas.traffic. Every expected value is worked out by hand in a comment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from costlib.bill.params import load_params
from costlib.bill.traffic import TrafficSettings
from costlib.core.errors import CostlibError
from costlib.formulas.traffic import (
    TrafficProfile,
    TrafficShape,
    build_profile,
    bursty_base_rps,
    read_profile_csv,
    requests_per_month,
    spike_coverage_fraction,
)

FIX = Path(__file__).parent / "fixtures" / "traffic"


# ---------------------------------------------------------------- formulas


def test_requests_per_month_hand():
    # 3 req/s * 730 h * 3600 s/h = 3 * 2,628,000 = 7,884,000
    assert requests_per_month(3.0) == pytest.approx(7_884_000.0)


def test_requests_per_month_vectorised():
    out = requests_per_month(np.array([1.0, 40.0]))
    # 1 * 2,628,000 ; 40 * 2,628,000 = 105,120,000
    np.testing.assert_allclose(out, [2_628_000.0, 105_120_000.0])


def test_spike_coverage_fraction_hand():
    # 4 spikes x 10 min = 40 min of 1440 = 0.027777...; 6 x 12 = 72 min = 0.05
    np.testing.assert_allclose(spike_coverage_fraction(np.array([4, 6]), np.array([10, 12])),
                               [40 / 1440, 0.05])


def test_bursty_base_rps_hand():
    # avg 3, peak 60, f = 1/36: (3 - 60/36) / (1 - 1/36) = (4/3) / (35/36) = 48/35
    assert bursty_base_rps(3.0, 60.0, 1 / 36) == pytest.approx(48 / 35)
    # infeasible: avg 3, peak 60, f = 0.1 -> (3 - 6) / 0.9 < 0
    assert bursty_base_rps(3.0, 60.0, 0.1) < 0


# ---------------------------------------------------------------- steady


def test_build_profile_steady_every_step_equals_avg():
    p = build_profile(TrafficShape(shape="steady", days=2), avg_rps=40.0)
    # scenario B: 40 steady RPS; 2 days of 60 s steps = 2 * 1440 = 2880 steps
    assert p.n_steps == 2880
    assert np.all(p.rps == 40.0)
    assert p.avg_rps == 40.0 and p.p95_rps == 40.0 and p.peak_rps == 40.0
    # 40 * 2,628,000 = 105,120,000 requests a month
    assert p.requests_per_month == pytest.approx(105_120_000.0)


def test_build_profile_steady_from_p95_only():
    p = build_profile(TrafficShape(shape="steady", days=1), p95_rps=5.0)
    assert p.avg_rps == 5.0


def test_build_profile_steady_p95_mismatch_raises():
    with pytest.raises(CostlibError, match="steady.*p95_rps=42"):
        build_profile(TrafficShape(shape="steady"), avg_rps=40.0, p95_rps=42.0)


def test_build_profile_steady_without_rate_raises():
    with pytest.raises(CostlibError, match="needs avg_rps"):
        build_profile(TrafficShape(shape="steady"))


# ---------------------------------------------------------------- bursty


def test_build_profile_bursty_scenario_a():
    # Scenario A: avg 3, spikes to 60; default 4 spikes/day x 10 min -> f = 40/1440 = 1/36
    p = build_profile(TrafficShape(shape="bursty", peak_rps=60.0), avg_rps=3.0)
    assert p.avg_rps == pytest.approx(3.0, rel=1e-12)
    assert p.peak_rps == pytest.approx(60.0, rel=1e-12)
    # spikes cover 1/36 < 5 % of the time, so p95 is the base: 48/35 = 1.3714 (hand, above)
    assert p.p95_rps == pytest.approx(48 / 35, rel=1e-9)
    # 7 days * 40 spike minutes = 280 steps at the peak
    assert int(np.sum(np.isclose(p.rps, 60.0))) == 280
    assert set(np.round(np.unique(p.rps), 9)) == {round(48 / 35, 9), 60.0}


def test_build_profile_bursty_avg_and_p95():
    # p95 sits on the base (f = 1/36 < 5 %): base = 1.5; avg = 1.5 + amp/36 = 3 -> amp = 54,
    # spike height = 1.5 + 54 = 55.5
    p = build_profile(TrafficShape(shape="bursty"), avg_rps=3.0, p95_rps=1.5)
    assert p.avg_rps == pytest.approx(3.0, rel=1e-12)
    assert p.p95_rps == pytest.approx(1.5, rel=0.01)
    assert p.peak_rps == pytest.approx(55.5)


def test_build_profile_bursty_p95_60_with_avg_3_raises():
    # p95 = 60 with mean 3 needs >= 5 % of time at 60 (0.05*60 = 3 = the whole mean);
    # with 1/36 coverage p95 is the base, at most the mean: allowed p95 from 0 to 3
    with pytest.raises(CostlibError) as exc:
        build_profile(TrafficShape(shape="bursty"), avg_rps=3.0, p95_rps=60.0)
    msg = exc.value.message
    assert "peak_rps" in msg and "from 0 to 3" in msg and "\n" not in msg


def test_build_profile_bursty_wide_spikes_p95_is_spike_height():
    # 4 x 30 min = 120 min = 8.33 % > 5 %: p95 = spike height; base = (3 - 30/12)/(11/12)
    # = 0.5 * 12/11 = 0.5454...
    s = TrafficShape(shape="bursty", spike_minutes=30, peak_rps=30.0)
    p = build_profile(s, avg_rps=3.0)
    assert p.p95_rps == pytest.approx(30.0)
    assert p.rps.min() == pytest.approx(6 / 11)


def test_build_profile_bursty_peak_too_high_raises():
    # avg 3 and f = 1/36 allow a peak of at most 3 * 36 = 108 (base 0)
    with pytest.raises(CostlibError, match="from 3 to 108"):
        build_profile(TrafficShape(shape="bursty", peak_rps=200.0), avg_rps=3.0)


def test_build_profile_bursty_needs_second_statistic():
    with pytest.raises(CostlibError, match="peak_rps"):
        build_profile(TrafficShape(shape="bursty"), avg_rps=3.0)


def test_build_profile_bursty_inconsistent_third_raises():
    # avg 3 + peak 60 give p95 = 1.371; asking for p95 2 as well cannot hold
    with pytest.raises(CostlibError, match="inconsistent"):
        build_profile(TrafficShape(shape="bursty", peak_rps=60.0), avg_rps=3.0, p95_rps=2.0)


def test_build_profile_bursty_same_seed_byte_identical():
    s = TrafficShape(shape="bursty", peak_rps=60.0, seed=7)
    a = build_profile(s, avg_rps=3.0)
    b = build_profile(s, avg_rps=3.0)
    assert a.rps.tobytes() == b.rps.tobytes()
    c = build_profile(dataclasses.replace(s, seed=8), avg_rps=3.0)
    assert c.rps.tobytes() != a.rps.tobytes()
    # a different seed moves the spikes, not the statistics
    assert c.avg_rps == pytest.approx(a.avg_rps) and c.peak_rps == pytest.approx(a.peak_rps)


def test_build_profile_bursty_spikes_one_per_slot():
    # 4 spikes a day, one in each 6 h slot: every slot holds exactly 10 spike minutes
    p = build_profile(TrafficShape(shape="bursty", peak_rps=60.0, days=2), avg_rps=3.0)
    hot = np.isclose(p.rps, 60.0).reshape(8, 360).sum(axis=1)
    assert np.all(hot == 10)


def test_build_profile_bursty_base_rps_and_peak():
    # base 1 and peak 37: avg = 1 + 36/36 = 2
    p = build_profile(TrafficShape(shape="bursty", base_rps=1.0, peak_rps=37.0))
    assert p.avg_rps == pytest.approx(2.0)


def test_build_profile_spikes_do_not_fit_raises():
    with pytest.raises(CostlibError, match="do not fit"):
        build_profile(TrafficShape(shape="bursty", spikes_per_day=30, spike_minutes=60,
                                      peak_rps=5.0), avg_rps=1.0)


# ---------------------------------------------------------------- diurnal


def test_build_profile_diurnal_avg_and_p95():
    # business hours 9-17 = 8 h of 24 -> mean(u) = 1/3 exactly (ramps are centred);
    # plateau covers > 5 % so p95 = plateau = 8; base = (3 - 8/3)/(2/3) = 0.5
    p = build_profile(TrafficShape(shape="diurnal"), avg_rps=3.0, p95_rps=8.0)
    assert p.avg_rps == pytest.approx(3.0, rel=1e-12)
    assert p.p95_rps == pytest.approx(8.0, rel=0.01)
    assert p.rps.min() == pytest.approx(0.5)
    assert p.peak_rps == pytest.approx(8.0)


def test_build_profile_diurnal_square_hours():
    # ramp 0: Monday minutes 540..1019 (09:00-17:00) at the plateau, all else at the base
    s = TrafficShape(shape="diurnal", ramp_minutes=0, days=1, base_rps=1.0, peak_rps=10.0)
    p = build_profile(s)
    expected = np.ones(1440)
    expected[540:1020] = 10.0
    np.testing.assert_array_equal(p.rps, expected)
    # avg = (480*10 + 960*1)/1440 = 5760/1440 = 4
    assert p.avg_rps == pytest.approx(4.0)


def test_build_profile_diurnal_ramp_midpoint():
    # 60-min ramp centred on 09:00: step 08:59-09:00 has midpoint 08:59:30, 29.5 min into the
    # ramp -> u = 29.5/60; rps = 1 + 9 * 29.5/60 = 5.425
    s = TrafficShape(shape="diurnal", days=1, base_rps=1.0, peak_rps=10.0)
    p = build_profile(s)
    assert p.rps[539] == pytest.approx(1 + 9 * 29.5 / 60)
    assert p.rps[510] == pytest.approx(1.0 + 9 * 0.5 / 60)   # 08:30:30 -> 0.5 min in
    assert p.rps[570] == pytest.approx(10.0)                 # 09:30:30 -> plateau


def test_build_profile_diurnal_across_midnight():
    # business hours 22-06 UTC (8 h): plateau at minutes 0..359 and 1320..1439
    s = TrafficShape(shape="diurnal", ramp_minutes=0, days=1, business_hours=(22, 6),
                        base_rps=1.0, peak_rps=10.0)
    p = build_profile(s)
    assert np.all(p.rps[:360] == 10.0) and np.all(p.rps[1320:] == 10.0)
    assert np.all(p.rps[360:1320] == 1.0)


def test_build_profile_diurnal_weekend_factor_zero():
    # weekend factor 0: Saturday and Sunday (days 5 and 6) sit at the base all day
    s = TrafficShape(shape="diurnal", weekend_factor=0.0, base_rps=0.5, peak_rps=8.0)
    p = build_profile(s)
    f = p.to_frame()
    assert np.all(f.loc[f.day >= 5, "rps"] == 0.5)
    assert f.loc[f.day < 5, "rps"].max() == pytest.approx(8.0)
    # weekday mean = 0.5 + 7.5/3 = 3; weekend mean 0.5; avg = (5*3 + 2*0.5)/7 = 16/7
    assert p.avg_rps == pytest.approx(16 / 7)


def test_build_profile_diurnal_infeasible_names_bound():
    # mean 1 with p95 30: any non-negative traffic needs avg >= 0.05 * 30 = 1.5
    with pytest.raises(CostlibError, match=r"0.05 x p95_rps = 1.5"):
        build_profile(TrafficShape(shape="diurnal"), avg_rps=1.0, p95_rps=30.0)


def test_build_profile_diurnal_bad_ramp_raises():
    with pytest.raises(CostlibError, match="ramp_minutes"):
        build_profile(TrafficShape(shape="diurnal", ramp_minutes=600, peak_rps=2.0),
                      avg_rps=1.0)


# ---------------------------------------------------------------- settings


def test_settings_unknown_key_rejected():
    with pytest.raises(ValidationError):
        TrafficSettings(shape="bursty", spikes_per_dya=3)


def test_settings_step_above_minute_rejected():
    with pytest.raises(ValidationError):
        TrafficSettings(step_s=120)


def test_settings_knob_for_other_shape_rejected_when_built():
    with pytest.raises(ValidationError, match="spike_minutes applies only to shape bursty"):
        TrafficSettings(shape="diurnal", spike_minutes=5)


def test_params_file_with_a_knob_for_another_shape_is_rejected_at_load(tmp_path):
    """The check runs when the file is loaded, so `costlib report` never starts on it."""
    path = tmp_path / "knob.yaml"
    path.write_text("workload: {in_tokens: 100, out_tokens: 10, avg_rps: 1, p95_latency_ms: 500,\n"
                    "  traffic: {shape: diurnal, spike_minutes: 5}}\n"
                    "options: {m: {kind: managed_api, model: amazon.nova-micro-v1:0}}\n")
    with pytest.raises(CostlibError, match=r"knob.yaml: workload.traffic: spike_minutes applies "
                                           r"only to shape bursty, not 'diurnal'"):
        load_params(path)


def test_build_profile_step_not_dividing_day_raises():
    with pytest.raises(CostlibError, match="step_s"):
        build_profile(TrafficShape(step_s=7), avg_rps=1.0)


def test_build_profile_nonpositive_avg_raises():
    with pytest.raises(CostlibError, match="avg_rps must be"):
        build_profile(TrafficShape(), avg_rps=0.0)


def test_build_profile_finer_step():
    # 10 s steps: 8640 per day
    p = build_profile(TrafficShape(days=1, step_s=10), avg_rps=2.0)
    assert p.n_steps == 8640 and p.duration_s == 86_400.0


# ---------------------------------------------------------------- profile


def test_profile_p95_hand():
    # 20 values 0..19: linear percentile index 0.95 * 19 = 18.05 -> 18 + 0.05 * (19 - 18) = 18.05
    p = TrafficProfile(rps=np.arange(20.0), step_s=60.0, shape="x")
    assert p.p95_rps == pytest.approx(18.05)
    assert p.avg_rps == pytest.approx(9.5)
    # requests in window = sum(0..19) * 60 = 190 * 60 = 11,400
    assert p.requests_per_window == pytest.approx(11_400.0)


def test_profile_rejects_negative():
    with pytest.raises(ValueError):
        TrafficProfile(rps=np.array([1.0, -1.0]), step_s=60.0, shape="x")


def test_profile_is_read_only():
    p = TrafficProfile(rps=np.ones(3), step_s=60.0, shape="x")
    with pytest.raises(ValueError):
        p.rps[0] = 5.0


def test_to_frame_columns_and_clock():
    p = build_profile(TrafficShape(days=2), avg_rps=1.0)
    f = p.to_frame()
    assert list(f.columns) == ["step", "minute_of_window", "hour_of_day", "day", "weekday", "rps"]
    # step 1500 = minute 1500 = day 1 (Tuesday) at 01:00
    row = f.iloc[1500]
    assert row.minute_of_window == 1500 and row.day == 1 and row.weekday == 1
    assert row.hour_of_day == pytest.approx(1.0)


# ---------------------------------------------------------------- csv


def test_read_profile_csv_known_values():
    p = read_profile_csv(FIX / "known_minutes.csv")
    # avg = (1296*2 + 144*12)/1440 = (2592 + 1728)/1440 = 3.0
    assert p.avg_rps == pytest.approx(3.0)
    # p95 index 0.95*1439 = 1367.05, sorted positions 1296..1439 hold 12 -> 12
    assert p.p95_rps == pytest.approx(12.0)
    assert p.step_s == 60.0 and p.n_steps == 1440


def test_read_profile_csv_requests_and_timestamps():
    p = read_profile_csv(FIX / "requests_30s.csv")
    # 60 requests per 30 s step = 2 rps
    assert p.step_s == 30.0 and np.all(p.rps == 2.0)
    # starts Wednesday 00:00 UTC = 2 days after Monday = 172,800 s
    assert p.start_s_of_week == 172_800.0
    assert p.to_frame().weekday.iloc[0] == 2


def test_build_profile_csv_relative_to_params_folder():
    p = build_profile(TrafficShape(shape="csv", csv="known_minutes.csv"), base_dir=FIX)
    assert p.avg_rps == pytest.approx(3.0)


def test_build_profile_csv_scaled_to_avg():
    # scale to avg 6: factor 6/3 = 2, p95 12 -> 24
    p = build_profile(TrafficShape(shape="csv", csv="known_minutes.csv"), avg_rps=6.0,
                      base_dir=FIX)
    assert p.avg_rps == pytest.approx(6.0) and p.p95_rps == pytest.approx(24.0)


def test_build_profile_csv_inconsistent_p95_raises():
    with pytest.raises(CostlibError, match="p95_rps=24"):
        build_profile(TrafficShape(shape="csv", csv="known_minutes.csv"), avg_rps=6.0,
                      p95_rps=30.0, base_dir=FIX)


def test_settings_csv_rejects_days():
    with pytest.raises(ValidationError, match="days does not apply"):
        TrafficSettings(shape="csv", csv="known_minutes.csv", days=3)


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("bad_number.csv", r"bad_number.csv: row 4, column rps: 'abc' is not a number"),
        ("bad_column.csv", r"unknown column 'rsp'; closest valid: rps"),
        ("gap.csv", r"row 5, column minute: '4' breaks the even spacing"),
        ("short.csv", r"at least one day"),
        ("negative.csv", r"row 3, column rps: '-2' is negative"),
        ("missing.csv", r"file not found"),
    ],
)
def test_read_profile_csv_errors(name, pattern):
    with pytest.raises(CostlibError, match=pattern) as exc:
        read_profile_csv(FIX / name)
    assert "\n" not in exc.value.message


def test_read_profile_csv_bad_timestamp(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("timestamp,rps\n2025-01-06T00:00:00Z,1\nyesterday,1\n")
    with pytest.raises(CostlibError, match="row 3, column timestamp: 'yesterday'"):
        read_profile_csv(f)


def test_read_profile_csv_coarse_step(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("minute,rps\n" + "".join(f"{5 * i},1\n" for i in range(300)))
    with pytest.raises(CostlibError, match="coarser than one minute"):
        read_profile_csv(f)
