"""Operating points are memoised in the process and on disk, and stay what the model gives."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import costlib.formulas.throughput as T
from costlib.bill.estimate import estimate
from costlib.bill.params import load_params
from costlib.core import cache
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.formulas.throughput import serving as S
from costlib.tables import hardware

# scenario B's workload (params/scenario_b_steady.yaml): 2,000 in / 500 out tokens, p95 TTFT 1 s
SLO = dict(instance="p5.48xlarge", in_tokens=2000, out_tokens=500, bounds={"ttft_p95_ms": 1000})


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache directory and an empty process memo."""
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "cache"))
    S.clear_memo()
    yield tmp_path / "cache"
    S.clear_memo()


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of the model behind the memo."""
    calls = []
    real = S._serving_point

    def spy(model, **kw):
        calls.append(model)
        return real(model, **kw)

    monkeypatch.setattr(S, "_serving_point", spy)
    return calls


def _uncached(model, **kw):
    args = dict(instance=None, gpu=None, gpus=None, precision="bf16", kv_precision=None,
                concurrency=None, rate=None, bounds=None, engine="vllm", prompt_cv=0.0,
                tensor_parallel=None, speculative=None)
    return S._serving_point(model, **{**args, **kw})


def test_a_memoised_point_is_the_computed_point(fresh, counted):
    direct = _uncached("llama-3.1-70b", **SLO)
    first = S.serving_point("llama-3.1-70b", **SLO)
    S.clear_memo()  # as a new process would: only the disk entry is left
    second = S.serving_point("llama-3.1-70b", **SLO)
    assert asdict(first) == asdict(second) == asdict(direct)
    assert second.binding == direct.binding and second.notes == direct.notes
    assert len(counted) == 2  # the direct call and the first memoised one; the second read the disk
    assert len(list((fresh / "serving").glob("*.json"))) == 1


def test_a_memoised_point_is_a_copy(fresh):
    a = S.serving_point("llama-3.1-70b", **SLO)
    a.bounds["ttft_p95_ms"] = 1.0
    assert S.serving_point("llama-3.1-70b", **SLO).bounds == {"ttft_p95_ms": 1000.0}


def test_another_argument_is_another_point(fresh, counted):
    S.serving_point("llama-3.1-70b", **SLO)
    S.serving_point("llama-3.1-70b", **{**SLO, "bounds": {"ttft_p95_ms": 1000, "tpot_p95_ms": 50}})
    S.serving_point("llama-3.1-70b", **{**SLO, "in_tokens": 2000.0})  # a float is its own key
    assert len(counted) == 3


def test_a_changed_catalog_file_invalidates_the_memo(fresh, counted, tmp_path, monkeypatch):
    copies = []
    for path in hardware.CATALOG_FILES:
        copies.append(tmp_path / path.name)
        shutil.copy(path, copies[-1])
    monkeypatch.setattr(hardware, "CATALOG_FILES", tuple(copies))
    hardware.catalog_signature.cache_clear()
    S.serving_point("llama-3.1-8b", gpu="H100", gpus=1, in_tokens=1000, out_tokens=200, concurrency=16)
    S.clear_memo()
    hardware.catalog_signature.cache_clear()
    S.serving_point("llama-3.1-8b", gpu="H100", gpus=1, in_tokens=1000, out_tokens=200, concurrency=16)
    assert len(counted) == 1  # unchanged files: read from disk
    engines = tmp_path / "engines.yaml"
    engines.write_text(engines.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    S.clear_memo()
    hardware.catalog_signature.cache_clear()
    S.serving_point("llama-3.1-8b", gpu="H100", gpus=1, in_tokens=1000, out_tokens=200, concurrency=16)
    assert len(counted) == 2
    hardware.catalog_signature.cache_clear()


def test_a_corrupt_disk_entry_is_computed_again(fresh, counted):
    first = S.serving_point("llama-3.1-70b", **SLO)
    (entry,) = (fresh / "serving").glob("*.json")
    entry.write_text('{"key": "x"', encoding="utf-8")
    S.clear_memo()
    assert asdict(S.serving_point("llama-3.1-70b", **SLO)) == asdict(first)
    assert len(counted) == 2


def test_an_unwritable_cache_still_gives_the_point(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV_DIR, str(blocker / "cache"))
    S.clear_memo()
    assert S.serving_point("llama-3.1-70b", **SLO).load == "slo"
    S.clear_memo()


def test_errors_are_not_memoised(fresh, counted):
    # a 1 s p95 end-to-end bound cannot be met by 500 output tokens on p5 (see
    # test_throughput.py::test_serving_point_scenario_b_e2e_infeasible)
    for _ in range(2):
        with pytest.raises(CostlibError, match="no load meets the latency bounds"):
            S.serving_point("llama-3.1-70b", **{**SLO, "bounds": {"e2e_p95_ms": 1000}})
    assert len(counted) == 2


def test_numpy_arguments_are_computed_without_the_memo(fresh, counted):
    a = S.serving_point("llama-3.1-70b", **{**SLO, "in_tokens": np.float64(2000)})
    b = S.serving_point("llama-3.1-70b", **{**SLO, "in_tokens": np.float64(2000)})
    assert asdict(a) == asdict(b) and len(counted) == 2
    assert not (fresh / "serving").exists()


@pytest.mark.parametrize("params_path", sorted(PARAMS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_params_file_prices_the_same_with_memoised_points(params_path, fresh, monkeypatch):
    calls = []
    real = T.serving_point

    def spy(model, **kw):
        calls.append((model, kw))
        return real(model, **kw)

    monkeypatch.setattr(T, "serving_point", spy)
    params = load_params(params_path)
    first = estimate(params).to_dict()
    S.clear_memo()
    again = estimate(params).to_dict()  # every point from the disk cache
    assert again == first
    for model, kw in calls:
        assert asdict(real(model, **kw)) == asdict(_uncached(model, **kw)), (params_path.stem, model)
