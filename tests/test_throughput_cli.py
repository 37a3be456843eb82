"""The ``costlib throughput`` sub-command."""

import argparse
import json

import pytest

from costlib.cli import throughput as throughput_cli
from costlib.core.errors import CostlibError


def _run(argv, capsys):
    ap = argparse.ArgumentParser()
    throughput_cli.register(ap.add_subparsers())
    args = ap.parse_args(["throughput", *argv])
    rc = args.func(args)
    return rc, capsys.readouterr().out


def test_handler_text_names_every_field_and_the_binding_limit(capsys):
    rc, out = _run("--model llama-3.1-70b --instance p4d.24xlarge --in-tokens 2000 --out-tokens 500 "
                   "--ttft-p95-ms 1000 --tpot-p95-ms 60 --prompt-cv 0.5".split(), capsys)
    assert rc == 0
    for key in ("output tokens/s", "total tokens/s", "TTFT p50 / p95", "time per output token",
                "end to end p50 / p95", "KV slots", "queued for a KV slot", "binding limit",
                "tokens/s per sequence"):
        assert key in out, key


def test_concurrency_beyond_memory_answers_with_the_queue(capsys):
    # the case: 250 clients on a configuration whose KV cache holds under 100 sequences
    rc, out = _run("--model llama-3.1-8b --gpu A100-40GB --gpus 1 --in-tokens 4000 --out-tokens 500 "
                   "--concurrency 250 --json".split(), capsys)
    d = json.loads(out)
    assert rc == 0 and d["max_concurrency_memory"] < 100
    assert d["queued"] > 100 and d["admission_wait_ms"] > 0
    # Little's law: the clients are in the engine or queued
    assert d["concurrency"] + d["queued"] == pytest.approx(250, rel=1e-6)


def test_rate_form_prints_an_open_loop_point(capsys):
    rc, out = _run("--model llama-3.1-8b --gpu H100 --gpus 1 --in-tokens 1000 --out-tokens 200 --rate 5 --json".split(),
                   capsys)
    d = json.loads(out)
    assert rc == 0 and d["load"] == "open" and d["request_rate_rps"] == pytest.approx(5.0)


def test_two_loads_at_once_is_one_clear_error(capsys):
    with pytest.raises(CostlibError, match="exactly one load"):
        _run("--model llama-3.1-8b --gpu H100 --in-tokens 10 --out-tokens 10 --rate 2 --concurrency 3".split(), capsys)


def test_handler_json(capsys):
    rc, out = _run("--model llama-3.1-8b --gpu H100 --gpus 1 --precision fp8 --in-tokens 1000 "
                   "--out-tokens 200 --concurrency 32 --json".split(), capsys)
    d = json.loads(out)
    assert rc == 0 and d["clients"] == 32 and d["concurrency"] == pytest.approx(32) and d["kv_precision"] == "fp8"
    assert d["tokens_per_s_per_sequence"] * d["batch_size"] == pytest.approx(d["total_tokens_per_s"])


def test_handler_unknown_model(capsys):
    with pytest.raises(CostlibError, match="unknown model 'llama-70b'"):
        _run("--model llama-70b --instance p5.48xlarge --in-tokens 10 --out-tokens 10 --concurrency 1".split(), capsys)
