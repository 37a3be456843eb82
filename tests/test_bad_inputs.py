"""The bad-input corpus: every case is rejected in one line, by every verb that takes it.

Each case of ``tests/bad_inputs/cases.yaml`` is a small file named for what is wrong with it
(``params/``, ``set/`` (the ``--set`` arguments, one a line, applied to ``base.yaml``),
``overrides/`` and ``traffic/`` CSVs and ``curves/`` (measured-curve JSON), each put into a copy
of ``base.yaml``, and ``offers/``), with a fragment the message must contain. A case passes when,
through ``costlib.cli.main`` in-process, every verb exits 2 with exactly one stderr line that
starts ``costlib: error: ``, names the file and holds the fragment, prints nothing on stdout,
shows no traceback, and leaves every file where it was (the tmp folder, ``params/``,
``costlib/data/``, ``outputs/``); and the Python API raises :class:`CostlibError` with one line.
The oracle of each case is the fragment written beside it, from what the file gets wrong.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from costlib.cli import main
from costlib.core.errors import CostlibError
from costlib.core.paths import PROJ_ROOT

CORPUS = Path(__file__).parent / "bad_inputs"
BASE = CORPUS / "base.yaml"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
WATCHED = [PROJ_ROOT / "params", PROJ_ROOT / "costlib" / "data", PROJ_ROOT / "outputs"]

# the verbs that take a params file; {p} is the file, {out} a fresh folder under tmp
PARAMS_VERBS = {
    "estimate": ["estimate", "{p}"],
    "estimate_json": ["estimate", "{p}", "--json"],
    "report": ["report", "{p}", "--out", "{out}"],
    "levers": ["levers", "{p}"],
    "diff": ["diff", "{p}", "--set", "workload.out_tokens=201"],
    "breakeven": ["breakeven", "{p}", "--key", "workload.out_tokens", "--between", "bedrock_8b", "g5_8b"],
    "uncertainty": ["uncertainty", "{p}", "--draws", "50"],
    "sensitivity": ["sensitivity", "{p}"],
    "buying": ["buying", "{p}"],
    "tiers": ["tiers", "{p}"],
}
PRICES_LIST = ["prices", "list", "--params", "{p}"]


def _snapshot(*folders: Path) -> dict:
    out = {}
    for folder in folders:
        if not folder.exists():
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in dirs + files:
                p = Path(root) / name
                try:
                    st = p.lstat()
                except OSError:
                    continue
                out[str(p)] = (st.st_mtime_ns, st.st_size) if stat.S_ISREG(st.st_mode) else None
    return out


def _place(case: dict, tmp: Path) -> tuple[Path, list[str], Path]:
    """The params file a case runs on, its ``--set`` arguments, and the file it must name."""
    kind, src = case["id"].split("/")[0], CORPUS / case["file"]
    if kind == "params":
        return src, [], src
    if kind == "set":
        sets = [f"--set={s}" for s in src.read_text(encoding="utf-8").splitlines() if s]
        return BASE, sets, BASE
    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    if kind == "overrides":
        data["prices"]["overrides_file"] = str(src)
    elif kind == "traffic":
        data["workload"]["traffic"] = {"shape": "csv", "csv": str(src)}
    elif kind == "curves":
        data["options"]["g5_8b"].pop("batch_size")
        data["options"]["g5_8b"]["measured_curve"] = {"format": "vllm", "files": [str(src)]}
    params = tmp / "inputs" / f"{kind}_{src.stem}.yaml"
    params.parent.mkdir(exist_ok=True)
    params.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return params, [], src


def _run(argv: list[str], capsys, tmp: Path) -> tuple[int, str, str]:
    before = _snapshot(tmp, *WATCHED)
    code = main(argv)
    out, err = capsys.readouterr()
    after = _snapshot(tmp, *WATCHED)
    changed = sorted(set(before.items()) ^ set(after.items()))
    assert not changed, f"{argv}: files created or changed: {changed[:5]}"
    return code, out, err


def _assert_one_line(code: int, out: str, err: str, names: str, expect: str, argv) -> None:
    assert code == 2, f"{argv}: exit {code}; stderr {err!r}"
    assert out == "", f"{argv}: stdout {out[:300]!r}"
    assert "Traceback" not in err
    assert err.startswith("costlib: error: ") and err.count("\n") == 1, f"{argv}: {err!r}"
    assert names in err, f"{argv}: {err!r} does not name {names}"
    assert expect in err, f"{argv}: {err!r} lacks {expect!r}"


def _verbs(case: dict) -> dict:
    kind = case["id"].split("/")[0]
    if kind == "offers":
        return {"prices_refresh": ["prices", "refresh", "--offer", "{p}", "--dry-run"]}
    verbs = {k: v for k, v in PARAMS_VERBS.items() if k in case.get("verbs", PARAMS_VERBS)}
    if case.get("prices_list") or kind == "overrides":
        verbs["prices_list"] = PRICES_LIST
    return verbs


CLI_CASES = [pytest.param(case, verb, id=f"{case['id']}-{verb}") for case in CASES
             for verb in _verbs(case)]


@pytest.mark.parametrize(("case", "verb"), CLI_CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, verb, capsys, tmp_path):
    params, sets, names = _place(case, tmp_path)
    if case["id"].startswith("offers/"):
        params = names = CORPUS / case["file"]
    out = tmp_path / "out"
    argv = [a.format(p=params, out=out) for a in _verbs(case)[verb]] + sets
    code, stdout, err = _run(argv, capsys, tmp_path)
    _assert_one_line(code, stdout, err, case.get("names", names.name), case["expect"], argv)
    assert not out.exists()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_through_the_python_api_is_one_costlib_error(case, tmp_path):
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params, parse_set_overrides
    from costlib.tables.pricelist import parse_offer

    params, sets, _ = _place(case, tmp_path)
    before = _snapshot(tmp_path, *WATCHED)
    with pytest.raises(CostlibError) as info:
        if case["id"].startswith("offers/"):
            parse_offer(CORPUS / case["file"])
        else:
            overrides = parse_set_overrides([s.removeprefix("--set=") for s in sets])
            estimate(load_params(params, overrides or None))
    assert "\n" not in info.value.message and case["expect"] in info.value.message
    assert _snapshot(tmp_path, *WATCHED) == before


def test_the_corpus_has_at_least_80_cases_each_with_its_file():
    assert len(CASES) >= 80
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert (CORPUS / case["file"]).is_file(), case["file"]
        assert case["expect"], case["id"]


def test_the_base_file_of_the_corpus_is_valid(capsys):
    """Every failure above is the case's own: the file it starts from estimates cleanly."""
    assert main(["estimate", str(BASE)]) == 0
    capsys.readouterr()


# ---- cases made at run time: sizes, devices, folders, URLs, --out targets, flags


def _generated_params(tmp: Path) -> dict[str, tuple[Path, str]]:
    big = tmp / "huge.yaml"
    big.write_text("title: x\n" + "# padding\n" * 120_000, encoding="utf-8")
    folder = tmp / "folder.yaml"
    folder.mkdir()
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    return {"over_1_mb": (big, "over the 1 MB cap"), "directory": (folder, "is a directory"),
            "fifo": (fifo, "not a regular file"), "dev_zero": (Path("/dev/zero"), "not a regular file")}


@pytest.mark.parametrize("which", ["over_1_mb", "directory", "fifo", "dev_zero"])
@pytest.mark.parametrize("verb", [*PARAMS_VERBS, "prices_list"])
def test_a_params_path_that_is_not_a_small_regular_file_is_one_line(which, verb, capsys, tmp_path):
    path, expect = _generated_params(tmp_path)[which]
    argv = [a.format(p=path, out=tmp_path / "out") for a in {**PARAMS_VERBS, "prices_list": PRICES_LIST}[verb]]
    code, out, err = _run(argv, capsys, tmp_path)
    _assert_one_line(code, out, err, path.name, expect, argv)


@pytest.mark.parametrize(("offer", "expect"), [
    ("https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/index.json",
     "does not download"),
    ("{tmp}", "is a directory"),
    ("/dev/zero", "not a regular file"),
    ("{tmp}/no_such_offer.json", "not found"),
], ids=["url", "directory", "dev_zero", "missing"])
def test_an_offer_that_is_not_a_local_file_is_one_line(offer, expect, capsys, tmp_path):
    offer = offer.format(tmp=tmp_path)
    argv = ["prices", "refresh", "--offer", offer, "--dry-run"]
    code, out, err = _run(argv, capsys, tmp_path)
    _assert_one_line(code, out, err, offer.rsplit("/", 1)[-1], expect, argv)


def _out_targets(tmp: Path) -> dict[str, tuple[str, str]]:
    afile = tmp / "a_file"
    afile.write_text("x", encoding="utf-8")
    report = tmp / "reports" / "old"
    report.mkdir(parents=True)
    (report / "00_worksheet.ipynb").write_text("{}", encoding="utf-8")
    return {"a_file": (str(afile), "is a file"), "under_dev_null": ("/dev/null/reports", "/dev/null"),
            "inside_a_report": (str(report), "is a report folder"),
            "below_a_report": (str(report / "deeper"), "is a report folder"),
            "under_a_file": (str(afile / "x"), "a_file")}


@pytest.mark.parametrize("which", ["a_file", "under_dev_null", "inside_a_report", "below_a_report",
                                   "under_a_file"])
def test_report_out_that_cannot_hold_reports_is_one_line(which, capsys, tmp_path):
    target, expect = _out_targets(tmp_path)[which]
    argv = ["report", str(BASE), "--out", target]
    code, out, err = _run(argv, capsys, tmp_path)
    _assert_one_line(code, out, err, "--out", expect, argv)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_report_out_in_a_read_only_folder_is_one_line(capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, out, err = _run(["report", str(BASE), "--out", str(ro / "x")], capsys, tmp_path)
        _assert_one_line(code, out, err, "--out", "not writable", "report")
    finally:
        ro.chmod(0o755)


FLAGS = {
    "uncertainty_draws_zero": (["uncertainty", "{p}", "--draws", "0"], "draws"),
    "uncertainty_draws_text": (["uncertainty", "{p}", "--draws", "many"], "--draws"),
    "sensitivity_unknown_option": (["sensitivity", "{p}", "--option", "nope"], "nope"),
    "buying_discount_nan": (["buying", "{p}", "--discount-pct", "nan"], "discount"),
    "buying_discount_over_100": (["buying", "{p}", "--discount-pct", "150"], "discount"),
    "tiers_tolerant_share_2": (["tiers", "{p}", "--tolerant-share", "2"], "tolerant"),
    "tiers_tolerant_share_inf": (["tiers", "{p}", "--tolerant-share", "inf"], "tolerant"),
    "breakeven_unknown_key": (["breakeven", "{p}", "--key", "workload.nope", "--between",
                               "bedrock_8b", "g5_8b"], "workload.nope"),
    "breakeven_lo_nan": (["breakeven", "{p}", "--key", "workload.out_tokens", "--between",
                          "bedrock_8b", "g5_8b", "--lo", "nan"], "--lo"),
    "estimate_unknown_region_flag": (["estimate", "{p}", "--regions", "us-east-1,mars-1"], "mars-1"),
    "report_jobs_zero": (["report", "{p}", "--jobs", "0", "--out", "{out}"], "--jobs"),
    "levers_unknown_flag": (["levers", "{p}", "--fast"], "--fast"),
}


@pytest.mark.parametrize("which", sorted(FLAGS))
def test_a_bad_flag_is_one_line_and_writes_nothing(which, capsys, tmp_path):
    argv, expect = FLAGS[which]
    argv = [a.format(p=BASE, out=tmp_path / "out") for a in argv]
    code, out, err = _run(argv, capsys, tmp_path)
    _assert_one_line(code, out, err, "", expect, argv)


@pytest.mark.parametrize(("call", "expect"), [
    ("load_params(123)", "load_params: path must be"),
    ("load_params(BASE, 'x')", "overrides must be a dict"),
    ("load_params(BASE, {'workload.avg_rps': float('inf')})", "workload.avg_rps: must be a finite number"),
    ("load_params(BASE, {'workload.in_tokens': float('nan')})", "workload.in_tokens: must be a finite number"),
    ("load_params(BASE, {5: 1})", "override key 5"),
    ("estimate('params/default.yaml')", "estimate: params must be a Params"),
    ("estimate(None)", "estimate: params must be a Params"),
    ("parse_offer(42)", "offer: expected the path"),
    ("read_price_rows(CORPUS)", "is a directory"),
    ("read_price_rows(CORPUS / 'overrides' / 'utf16.csv')", "UTF-16"),
], ids=lambda v: v if isinstance(v, str) and "(" in v else None)
def test_the_python_api_raises_one_costlib_error_for_bad_arguments(call, expect):
    from costlib.bill.estimate import estimate  # noqa: F401 - used by eval
    from costlib.bill.params import load_params  # noqa: F401
    from costlib.tables.pricelist import parse_offer  # noqa: F401
    from costlib.tables.prices import read_price_rows  # noqa: F401

    with pytest.raises(CostlibError) as info:
        eval(call)
    assert expect in info.value.message and "\n" not in info.value.message


def test_json_output_never_holds_nan_or_infinity():
    from costlib.cli.jsonout import dumps

    assert dumps({"a": 1.5}) == '{"a": 1.5}'
    with pytest.raises(CostlibError, match="non-finite"):
        dumps({"a": float("nan")})
    with pytest.raises(CostlibError, match="non-finite"):
        dumps([float("inf")])


def test_valid_name_lists_do_not_repeat_names():
    from costlib.core.names import closest_names, unknown_name_message

    msg = unknown_name_message("region", "zz", ["us-east-1", "us-east-1", "eu-west-1", "eu-west-1"])
    assert msg.count("us-east-1") == 1 and msg.count("eu-west-1") == 1
    assert closest_names("us-east", ["us-east-1"] * 5) == ["us-east-1"]



def test_a_numpy_runtime_warning_before_an_error_is_not_shown(monkeypatch, capsys):
    """The error line is the whole answer: a RuntimeWarning raised on the way is dropped."""
    import argparse
    import warnings

    import numpy as np

    import costlib.cli as cli

    def handler(args):
        with np.errstate(divide="warn"):
            np.float64(1.0) / np.float64(0.0)
        warnings.warn("invalid value encountered", RuntimeWarning)
        raise CostlibError("params/x.yaml: workload.avg_rps: must be a finite number (got inf)")

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=handler)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err == "costlib: error: params/x.yaml: workload.avg_rps: must be a finite number (got inf)\n"


def test_a_runtime_warning_of_a_run_that_succeeds_is_still_shown(monkeypatch):
    import argparse
    import warnings

    import costlib.cli as cli

    def handler(args):
        warnings.warn("a warning the user should see", RuntimeWarning)
        return 0

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=handler)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    with pytest.warns(RuntimeWarning, match="a warning the user should see"):
        assert cli.main([]) == 0
