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


def test_handler_text(capsys):
    rc, out = _run("--model llama-3.1-70b --instance p4d.24xlarge --in-tokens 2000 --out-tokens 500 "
                   "--p95-latency-ms 1000 --prompt-cv 0.5".split(), capsys)
    assert rc == 0
    for key in ("output tokens/s", "total tokens/s", "TTFT", "time per output token", "memory-limited max"):
        assert key in out


def test_handler_json(capsys):
    rc, out = _run("--model llama-3.1-8b --gpu H100 --gpus 1 --precision fp8 --in-tokens 1000 "
                   "--out-tokens 200 --concurrency 32 --json".split(), capsys)
    d = json.loads(out)
    assert rc == 0 and d["concurrency"] == 32 and d["kv_precision"] == "fp8"
    assert d["tokens_per_second_per_instance"] * d["batch_size"] == pytest.approx(d["total_tokens_per_s"])


def test_handler_unknown_model(capsys):
    with pytest.raises(CostlibError, match="unknown model 'llama-70b'"):
        _run("--model llama-70b --instance p5.48xlarge --in-tokens 10 --out-tokens 10 --concurrency 1".split(), capsys)
