"""The costlib command line: JSON output, --set, and one-line errors with exit code 2."""

import json
import re
import subprocess
import sys

import pytest

from costlib.cli import main
from costlib.core.paths import PARAMS_DIR, PROJ_ROOT
from test_estimate import EXPLICIT


@pytest.fixture
def explicit_file(tmp_path):
    path = tmp_path / "explicit.yaml"
    path.write_text(EXPLICIT)
    return path


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_estimate_json_is_one_object_with_options(capsys, explicit_file):
    out = run_json(capsys, "estimate", str(explicit_file), "--json")
    assert {o["name"] for o in out["options"]} == {"api", "fleet"}
    assert out["cheapest"] == "api"


def test_set_changes_the_result(capsys, explicit_file):
    base = run_json(capsys, "estimate", str(explicit_file), "--json")
    more = run_json(capsys, "estimate", str(explicit_file), "--json", "--set",
                    "workload.avg_rps=1.5")
    def tokens_usd(out):
        api = next(o for o in out["options"] if o["name"] == "api")
        return sum(li["monthly_usd"] for li in api["line_items"] if li["category"] == "inference")

    assert tokens_usd(more) == pytest.approx(tokens_usd(base) * 1.5)  # linear in traffic


def test_readable_output_lists_every_option(capsys, explicit_file):
    assert main(["estimate", str(explicit_file)]) == 0
    out = capsys.readouterr().out
    assert "api" in out and "fleet" in out and "cheapest: api" in out


def test_misspelt_key_exits_2_with_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXPLICIT.replace("avg_rps", "avg_rsp"))
    assert main(["estimate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "workload.avg_rsp" in err and "avg_rps" in err


def test_unknown_command_exits_2(capsys):
    assert main(["estimat"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_prints_no_traceback_on_bad_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXPLICIT.replace("batch_size: 2", "batch_size: two"))
    exe = PROJ_ROOT / ".venv" / "bin" / "costlib"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "costlib.cli"]
    proc = subprocess.run([*cmd, "estimate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "options.fleet.batch_size" in proc.stderr


def test_default_params_estimate_prints_valid_json(capsys):
    out = run_json(capsys, "estimate", str(PARAMS_DIR / "default.yaml"), "--json")
    assert out["options"] and all(o["monthly_usd"] > 0 for o in out["options"])


def test_unknown_instance_type_exits_2_and_suggests_the_nearest(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXPLICIT.replace("instance: g5.xlarge", "instance: p4d.24xl")
                   .replace("usd_per_instance_hour: 1.006,", ""))
    assert main(["estimate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "options.fleet" in err and "p4d.24xl" in err and "p4d.24xlarge" in err


def test_unknown_bedrock_model_exits_2_and_suggests(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = re.sub(r"model: any-model,[^}]*", "model: meta.llama3-1-70b-instruct", EXPLICIT)
    assert "any-model" not in text
    bad.write_text(text)
    assert main(["estimate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "meta.llama3-1-70b-instruct-v1:0" in err


def test_building_the_parser_imports_no_pandas_pydantic_or_numpy():
    code = ("import sys, costlib.cli\n"
            "costlib.cli.build_parser().parse_args(['estimate', 'params/default.yaml', '--json'])\n"
            "print(' '.join(m for m in ('pandas', 'pydantic', 'numpy', 'yaml', 'genai_prices')"
            " if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJ_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_help_lists_the_commands_in_their_order(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    usage = capsys.readouterr().out
    assert "{estimate,report,levers,throughput,prices,diff,breakeven,uncertainty,sensitivity,buying,tiers}" in usage


def test_prices_bad_input_still_exits_2_with_one_line(capsys):
    assert main(["prices", "show", "ec3", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costlib: error: unknown service 'ec3'") and err.count("\n") == 1
