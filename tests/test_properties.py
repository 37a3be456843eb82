"""Properties of the bill over every params file (issue 16): sums, signs, monotonicity,
linearity, and the vectorised bill against the scalar estimate.

How the examples stay cheap: hypothesis draws one seed per example run (derandomised, no
database, as in tests/test_vector_bill.py); the seed drives numpy's Generator, which draws a
whole batch of rows, and the batch is priced in one ``price_many`` call. Each test docstring says
how many rows (examples) it checks and how they are priced. Token counts of a self-hosted option
whose throughput is derived are structural (one throughput solve per distinct value, memoised),
so those tests use a small grid of token counts crossed with many traffic levels.

The one documented exception (more output tokens, cheaper self-hosted fleet) is explained in
``test_more_output_tokens_never_cheaper_except_under_a_binding_tpot_bound``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costlib.bill.estimate import estimate
from costlib.bill.params import at_points, load_params, with_overrides
from costlib.bill.vector import numeric_keys, price_many, structural_keys
from costlib.formulas.throughput import serving_point

ROOT = Path(__file__).resolve().parents[1]
PARAMS = sorted((ROOT / "params").glob("*.yaml"))
IDS = [p.stem for p in PARAMS]
RATE_KEYS = ("workload.avg_rps", "workload.p95_rps", "workload.traffic.peak_rps",
             "workload.traffic.base_rps")
N = 500          # examples (rows) per property and params file, at least
GRID = np.array([0.2, 0.32, 0.6, 1.0, 1.5])   # token counts, times the file's
SETTINGS = dict(max_examples=2, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
_CACHE: dict = {}


def _params(path):
    if path not in _CACHE:
        _CACHE[path] = at_points(load_params(path))
    return _CACHE[path]


def _rates(params) -> dict:
    """The file's traffic rates that are set: scaled together, the profile's shape stays."""
    known = numeric_keys(params)
    return {k: float(known[k]["value"]) for k in RATE_KEYS
            if k in known and known[k]["value"] is not None}


def _scaled(params, scale) -> dict:
    return {k: v * np.asarray(scale, float) for k, v in _rates(params).items()}


def _structural(params, key) -> bool:
    return bool(structural_keys(params, [key]))


def _draw_rows(params, rng, n) -> dict:
    """n rows: traffic scaled 0.3-3x, token counts +-50 % (structural ones on a 3-value grid),
    and every managed option's token prices 0-3x."""
    out = _scaled(params, rng.uniform(0.3, 3.0, n))
    for key in ("workload.in_tokens", "workload.out_tokens"):
        v = float(numeric_keys(params)[key]["value"])
        if _structural(params, key):
            out[key] = rng.choice(np.round(v * np.array([0.5, 1.0, 1.5])), n)
        else:
            out[key] = np.round(v * rng.uniform(0.5, 1.5, n))
    for k in _price_keys(params):
        out[k] = _price_base(params, k) * rng.uniform(0.0, 3.0, n)
    return out


def _price_keys(params) -> list[str]:
    known = numeric_keys(params)
    return [k for k in known if k.startswith("options.")
            and (k.endswith("usd_per_1m_input_tokens") or k.endswith("usd_per_1m_output_tokens"))]


def _price_base(params, key) -> float:
    """The file's price when it states one, else 1 USD per 1M tokens (the price book's figure
    is then replaced by drawn prices around that scale)."""
    v = numeric_keys(params)[key]["value"]
    return float(v) if v is not None else 1.0


# ------------------------------------------------------------------------------------------
# sums and signs


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_line_items_and_categories_sum_to_the_option_total(path, seed):
    """2 x 500 rows per file (traffic, tokens, token prices drawn), one price_many call each.

    Oracle: the total is the sum of the line items' monthly USD and of the categories' sums;
    each item's monthly USD is its quantity x unit price (USD items priced per unit); the floor
    is part of the total (0 <= floor <= total)."""
    params = _params(path)
    bill = price_many(params, _draw_rows(params, np.random.default_rng(seed), N))
    assert bill.n == N
    for name, items in bill.options.items():
        total = bill.total(name)
        assert np.allclose(np.sum([i.monthly_usd for i in items], axis=0), total,
                           rtol=1e-12, atol=1e-9), name
        assert np.allclose(sum(bill.by_category(name).values()), total, rtol=1e-12, atol=1e-9)
        floor = bill.floor(name)
        assert np.all(floor <= total * (1 + 1e-12) + 1e-9), name
        for i in items:
            assert np.allclose(i.quantity * i.unit_usd, i.monthly_usd, rtol=1e-9, atol=1e-6), \
                (name, i.item)


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_no_line_item_is_negative_or_non_finite(path, seed):
    """2 x 500 rows per file (as above), one price_many call each: quantity, unit price,
    monthly USD and floor of every item of every option are finite and >= 0."""
    params = _params(path)
    bill = price_many(params, _draw_rows(params, np.random.default_rng(seed), N))
    for name, items in bill.options.items():
        for i in items:
            for field in ("quantity", "unit_usd", "monthly_usd", "floor_usd"):
                x = getattr(i, field)
                if x is None:
                    continue
                assert np.all(np.isfinite(x)), (name, i.item, field)
                assert np.all(x >= 0), (name, i.item, field, float(np.min(x)))


# ------------------------------------------------------------------------------------------
# monotonicity


def _assert_not_cheaper(bill, lo_rows, hi_rows, what, skip=()):
    for name in bill.options:
        if name in skip:
            continue
        t = bill.total(name)
        worse = t[hi_rows] < t[lo_rows] * (1 - 1e-9) - 1e-9
        assert not worse.any(), (what, name, t[lo_rows][worse][:3], t[hi_rows][worse][:3])


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_more_traffic_never_makes_an_option_cheaper(path, seed):
    """500 pairs per file: traffic scale s in 0.3-3 and s x (1 + d), d in 0-0.5 (every rate of
    the profile scaled together), priced as 1,000 rows in one price_many call."""
    params = _params(path)
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.3, 3.0, N)
    scale = np.concatenate([s, s * (1 + rng.uniform(0.0, 0.5, N))])
    bill = price_many(params, _scaled(params, scale))
    _assert_not_cheaper(bill, np.arange(N), np.arange(N, 2 * N), "traffic")


def _token_pairs(params, key, rng):
    """(inputs, lo rows, hi rows): 500+ pairs with ``key`` raised, the rest equal."""
    v = float(numeric_keys(params)[key]["value"])
    if _structural(params, key):
        # 5 token counts (4 raises, 0.2-1.5x the file's) x 5 of the other count x 25 traffic
        # levels: 625 rows, 500 pairs, 25 throughput solves (shared by the two token tests)
        grid = np.round(v * GRID)
        other = "workload.out_tokens" if key == "workload.in_tokens" else "workload.in_tokens"
        ov = float(numeric_keys(params)[other]["value"])
        og = np.round(ov * GRID)
        s = rng.uniform(0.3, 3.0, 25)
        K, O, S = np.meshgrid(grid, og, s, indexing="ij")
        inputs = {key: K.ravel(), other: O.ravel(), **_scaled(params, S.ravel())}
        idx = np.arange(K.size).reshape(K.shape)
        return inputs, idx[:-1].ravel(), idx[1:].ravel()
    lo = np.round(v * rng.uniform(0.3, 2.0, N))
    hi = lo + np.round(v * rng.uniform(0.0, 0.5, N))
    s = np.tile(rng.uniform(0.3, 3.0, N), 2)
    return ({key: np.concatenate([lo, hi]), **_scaled(params, s)},
            np.arange(N), np.arange(N, 2 * N))


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_longer_prompts_never_make_an_option_cheaper(path, seed):
    """500 pairs per file: in_tokens raised, the rest equal. Managed-only files: 500 random
    pairs (1,000 rows, one call); files with a derived self-hosted throughput: 5 prompt lengths x
    5 answer lengths (0.2-1.5x the file's) x 25 traffic levels (625 rows, 25 throughput solves),
    500 adjacent pairs."""
    params = _params(path)
    inputs, lo, hi = _token_pairs(params, "workload.in_tokens", np.random.default_rng(seed))
    assert lo.size >= N
    bill = price_many(params, inputs)
    _assert_not_cheaper(bill, lo, hi, "in_tokens")


def _tpot_explains(params, name, inputs, lo_row, hi_row) -> bool:
    """True when a cheaper fleet at the longer answer is the TPOT-averaging effect.

    Checked on the mechanism itself, in the TP layout the longer answer is served with: there
    the shorter answer's SLO point is bound by the p95 time per output token; at that same
    request rate the longer answer's p95 time per output token is lower (the bound no longer
    binds); and the SLO request rate one instance sustains rises with the answer over the best
    layouts (the fleet, sized in requests, shrinks)."""
    opt = params.options[name]
    w = params.workload
    args = dict(instance=opt.instance.removeprefix("ml."), precision=opt.precision,
                kv_precision=opt.kv_precision, in_tokens=float(inputs["workload.in_tokens"][lo_row]),
                engine=opt.engine, prompt_cv=w.prompt_cv, speculative=opt.speculative)
    short, long_ = (float(inputs["workload.out_tokens"][r]) for r in (lo_row, hi_row))
    best_lo = serving_point(opt.model, out_tokens=short, bounds=w.latency_bounds,
                            tensor_parallel=opt.tensor_parallel, **args)
    hi = serving_point(opt.model, out_tokens=long_, bounds=w.latency_bounds,
                       tensor_parallel=opt.tensor_parallel, **args)
    lo = serving_point(opt.model, out_tokens=short, bounds=w.latency_bounds,
                       tensor_parallel=hi.tensor_parallel, **args)
    same_rate = serving_point(opt.model, out_tokens=long_, rate=lo.request_rate_rps,
                              tensor_parallel=hi.tensor_parallel, **args)
    return (lo.limited_by == "tpot_p95_ms"
            and same_rate.p95_tpot_ms < lo.p95_tpot_ms
            and hi.request_rate_rps > best_lo.request_rate_rps)


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_more_output_tokens_never_cheaper_except_under_a_binding_tpot_bound(path, seed):
    """500 pairs per file, out_tokens raised, priced as in the prompt test.

    The documented exception (physics of the model, not an artefact; see the module docstring
    of costlib.formulas.throughput.serving, "Longer answers can raise the SLO rate"): the p95
    time per output token is the p95 over requests of each request's *mean* time per token.
    The prompt chunks that interrupt its decode steps make that mean vary, and the variance
    falls as 1 / (answer length) (load.py: var_steps ~ rate x step x (1 + cv^2) / n_dec).
    Under a binding TPOT bound, a longer answer averages more steps, its p95 sits closer to the
    mean, and an instance meets the bound at a higher request rate, so a fleet sized by
    requests can shrink. Hand-checked: llama-3.1-70b on p4d.24xlarge (TP 4 x 2), vLLM, 1,500
    in, prompt CV 0.5, TTFT <= 1 s, TPOT <= 50 ms (scenario B's bounds): at 3.33 req/s the p95
    TPOT is 50.0 ms with 100 out tokens and 47.5 ms with 160 (mean 35.6 -> 36.2 ms); the SLO
    rate is 3.33 / 3.75 / 4.03 req/s at 100 / 130 / 160 out, and scenario B's p4d option
    (in_tokens 1,500) falls 176,841 -> 160,859 USD/month from 100 to 160 out tokens. Each break
    found is checked to be this effect (``_tpot_explains``), else the test fails."""
    params = _params(path)
    inputs, lo, hi = _token_pairs(params, "workload.out_tokens", np.random.default_rng(seed))
    assert lo.size >= N
    if "workload.in_tokens" not in inputs:
        inputs["workload.in_tokens"] = np.full(inputs["workload.out_tokens"].size,
                                               float(params.workload.in_tokens))
    bill = price_many(params, inputs)
    for name in bill.options:
        t = bill.total(name)
        worse = np.flatnonzero(t[hi] < t[lo] * (1 - 1e-9) - 1e-9)
        checked = set()
        for j in worse:
            key = (inputs["workload.in_tokens"][lo[j]], inputs["workload.out_tokens"][lo[j]])
            if key in checked:
                continue
            checked.add(key)
            assert bill.kinds[name] == "self_hosted" and _tpot_explains(
                params, name, inputs, lo[j], hi[j]), (name, key, t[lo[j]], t[hi[j]])


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_higher_token_price_never_makes_an_option_cheaper(path, seed):
    """500 pairs per file and price key (every managed option's input and output token price):
    price p in 0-3x the file's and p + d, traffic drawn, 1,000 rows in one call per key."""
    params = _params(path)
    rng = np.random.default_rng(seed)
    keys = _price_keys(params)
    if not keys:
        pytest.skip("no token price in this file")
    for key in keys:
        v = _price_base(params, key)
        p = v * rng.uniform(0.0, 3.0, N)
        prices = np.concatenate([p, p + v * rng.uniform(0.0, 1.0, N)])
        bill = price_many(params, {key: prices,
                                   **_scaled(params, np.tile(rng.uniform(0.3, 3.0, N), 2))})
        _assert_not_cheaper(bill, np.arange(N), np.arange(N, 2 * N), key)


def _hit_keys(params) -> list[str]:
    known = numeric_keys(params)
    return [k for k in known if k.endswith("cache.hit_fraction") and known[k]["value"] is not None]


@pytest.mark.parametrize("path", [p for p in PARAMS if _hit_keys(_params(p))],
                         ids=[p.stem for p in PARAMS if _hit_keys(_params(p))])
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_lower_cache_hit_rate_never_makes_an_option_cheaper(path, seed):
    """500 pairs per file and cache: hit fraction h in 0-1 and h - d (clipped at 0), traffic
    drawn, 1,000 rows in one call per key."""
    params = _params(path)
    rng = np.random.default_rng(seed)
    for key in _hit_keys(params):
        h = rng.uniform(0.0, 1.0, N)
        lower = np.clip(h - rng.uniform(0.0, 0.5, N), 0.0, 1.0)
        bill = price_many(params, {key: np.concatenate([h, lower]),
                                   **_scaled(params, np.tile(rng.uniform(0.3, 3.0, N), 2))})
        _assert_not_cheaper(bill, np.arange(N), np.arange(N, 2 * N), key)


# ------------------------------------------------------------------------------------------
# linearity and the two paths


def _steady(params):
    shape = getattr(params.workload.traffic, "shape", None) if params.workload.traffic else None
    return shape == "steady"


@pytest.mark.parametrize("path", [p for p in PARAMS if _steady(_params(p))],
                         ids=[p.stem for p in PARAMS if _steady(_params(p))])
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_managed_token_spend_is_linear_in_traffic(path, seed):
    """500 pairs per file with a steady profile: traffic scale s in 0.1-10 and 2 s, one call of
    1,000 rows. Every inference line item of a managed option doubles exactly (tokens billed
    = requests x tokens per request x price; no volume tier in a steady month)."""
    params = _params(path)
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.1, 10.0, N)
    bill = price_many(params, _scaled(params, np.concatenate([s, 2 * s])))
    managed = [n for n, k in bill.kinds.items() if k == "managed_api"]
    assert managed
    for name in managed:
        items = [i for i in bill.options[name] if i.category == "inference"]
        assert items, name
        spend = np.sum([i.monthly_usd for i in items], axis=0)
        assert np.all(spend[:N] > 0)
        np.testing.assert_allclose(spend[N:], 2 * spend[:N], rtol=1e-12)


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
@settings(**SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_vector_bill_equals_the_scalar_estimate(path, seed):
    """100 rows per file per run (2 runs: 200 per file, 1,000 over the five files): traffic,
    tokens and token prices drawn, priced once by price_many, then row by row by the scalar
    estimate(with_overrides(params, row)), which loads and validates each row independently.
    Every option total and floor agree to 1e-9 relative."""
    params = _params(path)
    n = 100
    inputs = _draw_rows(params, np.random.default_rng(seed), n)
    bill = price_many(params, inputs)
    for i in range(n):
        e = estimate(with_overrides(params, {k: float(v[i]) for k, v in inputs.items()}))
        for o in e.options:
            assert bill.total(o.name)[i] == pytest.approx(o.monthly_usd, rel=1e-9, abs=1e-9)
            assert bill.floor(o.name)[i] == pytest.approx(o.floor_usd, rel=1e-9, abs=1e-9)
