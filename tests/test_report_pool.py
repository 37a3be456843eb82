"""The report runner's pool: notebooks of every params file at once, kernel starts tried again,
cell errors never, reports swapped in whole, progress counted, the same files at any --jobs."""

import io
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from costlib.cli import main as cli_main
from costlib.cli import report
from costlib.core.errors import CostlibError
from costlib.core.paths import PACKAGE_DIR, PARAMS_DIR, PROJ_ROOT

DEFAULT = PARAMS_DIR / "default.yaml"
STEADY = PARAMS_DIR / "scenario_b_steady.yaml"


def tiny_notebook(path, body="print(params_path)"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('params_path = "x"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    return folder


_LEVERS = {}


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """No back-off between kernel starts, and each params file's levers computed once in the
    session (the one-page report's lever table takes seconds; it is not what is tested here)."""
    import costlib.whatif.levers as levers

    monkeypatch.setattr(report, "KERNEL_START_BACKOFF_S", 0.0)
    original = levers.lever_report

    def lever_report(params):
        key = repr(params)
        if key not in _LEVERS:
            _LEVERS[key] = original(params)
        return _LEVERS[key].copy()

    monkeypatch.setattr(levers, "lever_report", lever_report)


class FakeExecutor:
    """Stands in for papermill: "executes" a notebook by writing it with one output, the
    parameters it was given; ``fail`` decides, per call, what goes wrong first."""

    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail or (lambda notebook, params_path, attempt, ready: None)

    def __call__(self, notebook, target, parameters, *, cwd, on_kernel_ready):
        attempt = sum(1 for c in self.calls if c == (notebook.name, parameters["params_path"])) + 1
        self.calls.append((notebook.name, parameters["params_path"]))
        self.fail(notebook, parameters["params_path"], attempt, on_kernel_ready)
        on_kernel_ready()
        nb = nbformat.read(str(notebook), as_version=4)
        nb.cells[-1].outputs = [nbformat.v4.new_output(
            "stream", name="stdout", text=f"{parameters['params_path']} in {cwd.name}\n")]
        nbformat.write(nb, str(target))


def kernel_died_once(notebook, params_path, attempt, ready):
    if notebook.name == "01_b.ipynb" and attempt == 1:
        raise RuntimeError("Kernel died before replying to kernel_info")


def test_pool_starts_a_kernel_again_when_it_did_not_start(tmp_path, notebooks):
    nbs = [tiny_notebook(notebooks / n) for n in ("00_a.ipynb", "01_b.ipynb", "02_c.ipynb")]
    fake = FakeExecutor(kernel_died_once)
    err = io.StringIO()
    code = report.build_reports([DEFAULT], tmp_path / "out", jobs=2, notebooks=nbs,
                                execute=fake, stream=err)
    assert code == 0
    assert fake.calls.count(("01_b.ipynb", "params/default.yaml")) == 2
    assert ("01_b.ipynb: kernel did not start (RuntimeError: Kernel died before replying"
            in err.getvalue())
    folder = tmp_path / "out" / "default"
    assert sorted(p.name for p in folder.iterdir()) == [
        "00_a.html", "00_a.ipynb", "01_b.html", "01_b.ipynb", "02_c.html", "02_c.ipynb",
        "line_items.csv", "report.html", "summary.json"]


def test_a_kernel_that_never_starts_fails_its_report_after_every_attempt(tmp_path, notebooks):
    nb = tiny_notebook(notebooks / "00_a.ipynb")

    def never(notebook, params_path, attempt, ready):
        raise OSError("Address already in use")

    fake = FakeExecutor(never)
    with pytest.raises(CostlibError, match=r"00_a.ipynb failed for .*default.yaml: its kernel did "
                                           r"not start \(4 attempts\): OSError: Address already"):
        report.build_report(DEFAULT, tmp_path / "out", [nb], execute=fake)
    assert len(fake.calls) == report.KERNEL_START_ATTEMPTS
    assert list((tmp_path / "out").iterdir()) == []


def test_an_error_that_a_new_kernel_cannot_mend_is_not_retried(tmp_path, notebooks):
    nb = tiny_notebook(notebooks / "00_a.ipynb")

    def no_kernelspec(notebook, params_path, attempt, ready):
        from jupyter_client.kernelspec import NoSuchKernel

        raise NoSuchKernel("python3")

    fake = FakeExecutor(no_kernelspec)
    with pytest.raises(CostlibError, match="00_a.ipynb failed for .*: NoSuchKernel"):
        report.build_report(DEFAULT, tmp_path / "out", [nb], execute=fake)
    assert len(fake.calls) == 1


def cell_error(notebook, params_path, attempt, ready):
    from papermill.exceptions import PapermillExecutionError

    if notebook.name == "01_b.ipynb" and "steady" in params_path:
        ready()  # the kernel started: what follows is the notebook's own error
        raise PapermillExecutionError(cell_index=1, exec_count=3, source="boom()",
                                      ename="ValueError", evalue="boom", traceback=[])


def test_a_cell_error_is_not_retried_and_keeps_the_previous_report(tmp_path, notebooks, capsys):
    nbs = [tiny_notebook(notebooks / n) for n in ("00_a.ipynb", "01_b.ipynb", "02_c.ipynb")]
    out = tmp_path / "out"
    assert report.build_reports([DEFAULT, STEADY], out, notebooks=nbs, execute=FakeExecutor(),
                                stream=io.StringIO()) == 0
    before = {p.name: p.read_bytes() for p in (out / "scenario_b_steady").iterdir()}
    (out / "default" / "summary.json").write_text("{}")  # so we see default rebuilt
    capsys.readouterr()

    fake = FakeExecutor(cell_error)
    progress = io.StringIO()
    code = report.build_reports([DEFAULT, STEADY], out, jobs=1, notebooks=nbs, execute=fake,
                                stream=progress)
    assert code == 2
    assert "[5/6] scenario_b_steady: 01_b.ipynb failed at cell 3 after " in progress.getvalue()
    assert "[6/6] scenario_b_steady: 02_c.ipynb skipped: its report failed\n" in progress.getvalue()
    assert fake.calls.count(("01_b.ipynb", "params/scenario_b_steady.yaml")) == 1
    assert ("02_c.ipynb", "params/scenario_b_steady.yaml") not in fake.calls  # skipped
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"costlib: error: 01_b.ipynb failed for {STEADY} at cell 3: ValueError: boom"]
    assert {p.name: p.read_bytes() for p in (out / "scenario_b_steady").iterdir()} == before
    assert json.loads((out / "default" / "summary.json").read_text()) != {}  # built, swapped in
    assert "report for" in captured.out and "scenario_b_steady" not in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["default", "scenario_b_steady"]


def test_a_kernel_that_dies_after_starting_is_not_retried(tmp_path, notebooks):
    nb = tiny_notebook(notebooks / "00_a.ipynb")

    def dies(notebook, params_path, attempt, ready):
        ready()
        raise RuntimeError("Kernel died")

    fake = FakeExecutor(dies)
    with pytest.raises(CostlibError, match="00_a.ipynb failed for .*: its kernel stopped: "
                                           "RuntimeError: Kernel died"):
        report.build_report(DEFAULT, tmp_path / "out", [nb], execute=fake)
    assert len(fake.calls) == 1


def test_progress_lines_count_to_the_total(tmp_path, notebooks):
    nbs = [tiny_notebook(notebooks / n) for n in ("00_a.ipynb", "01_b.ipynb", "02_c.ipynb")]
    err = io.StringIO()
    assert report.build_reports([DEFAULT, STEADY], tmp_path / "out", jobs=2, notebooks=nbs,
                                execute=FakeExecutor(), stream=err) == 0
    lines = err.getvalue().splitlines()
    counted = [line for line in lines if line.startswith("[")]
    assert [int(re.match(r"\[(\d+)/6\] ", line).group(1)) for line in counted] == [1, 2, 3, 4, 5, 6]
    done = r"\[\d/6\] (default|scenario_b_steady): 0\d_\w\.ipynb done in \d+\.\d s"
    assert all(re.fullmatch(done, line)
               for line in counted), counted
    assert sorted(line.split("] ")[1].split(" done")[0] for line in counted) == sorted(
        f"{stem}: {nb.name}" for stem in ("default", "scenario_b_steady") for nb in nbs)
    assert re.fullmatch(r"6 of 6 notebooks in \d+\.\d s, 2 at a time", lines[-1])


def test_progress_on_a_terminal_is_one_line_redrawn():
    out = io.StringIO()
    bar = report.Progress(4, stream=out, tty=True, workers=2, refresh_s=60)
    bar.started("default: 00_a.ipynb")
    bar.started("default: 01_b.ipynb")
    assert "running default: 00_a.ipynb, default: 01_b.ipynb" in out.getvalue()
    bar.finished("default: 00_a.ipynb", 1.0)
    bar.write("a line for stdout\n")
    bar.close()
    text = out.getvalue()
    assert "\n" not in text.split("a line for stdout\n")[0]  # the bar is redrawn, not scrolled
    assert "\r\x1b[K[######------------------] 1/4" in text
    assert "\r\x1b[K1 of 4 notebooks in " in text
    assert text.endswith(" s, 2 at a time\n")


def test_parallel_and_sequential_runs_write_identical_files(tmp_path, notebooks):
    """Real kernels, two at a time: the same bytes as one at a time, each kernel in the
    notebooks' folder (papermill's own cwd= would chdir the whole process under the threads)."""
    nbs = [
        tiny_notebook(notebooks / "00_a.ipynb",
                      "import os\nprint(params_path, os.path.basename(os.getcwd()))"),
        tiny_notebook(notebooks / "01_b.ipynb",
                      "import ipywidgets as w\nprint('a', end='')\nprint()\n"
                      "w.VBox([w.IntSlider(3)])"),
    ]
    trees = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        assert report.build_reports([DEFAULT, STEADY], out, jobs=jobs, notebooks=nbs,
                                    stream=io.StringIO()) == 0
        trees[jobs] = {p.relative_to(out).as_posix(): p.read_bytes()
                       for p in sorted(out.rglob("*")) if p.is_file()}
    assert trees[1].keys() == trees[2].keys()
    assert len(trees[1]) == 2 * 7
    for name in trees[1]:
        assert trees[1][name] == trees[2][name], name
    executed = json.loads(trees[2]["scenario_b_steady/00_a.ipynb"])
    assert "".join(executed["cells"][-1]["outputs"][0]["text"]) == (
        "params/scenario_b_steady.yaml nbs\n")


def test_join_streams_joins_only_neighbours_of_one_name():
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": ["a."]},
        {"output_type": "stream", "name": "stdout", "text": ["\n", "b\n"]},
        {"output_type": "stream", "name": "stderr", "text": ["w\n"]},
        {"output_type": "display_data", "data": {}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": ["c\n"]},
    ]
    assert report._join_streams(outputs) == [
        {"output_type": "stream", "name": "stdout", "text": ["a.\n", "b\n"]},
        {"output_type": "stream", "name": "stderr", "text": ["w\n"]},
        {"output_type": "display_data", "data": {}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": ["c\n"]},
    ]


def test_kernels_share_one_cache_dir_and_the_book_is_warmed_first(tmp_path, notebooks,
                                                                  monkeypatch):
    import costlib.tables.prices

    events = []
    original = costlib.tables.prices.load_price_book
    monkeypatch.setattr(costlib.tables.prices, "load_price_book",
                        lambda *a, **k: (events.append("warm"), original(*a, **k))[1])
    monkeypatch.setenv("COSTLIB_CACHE_DIR", "relative-cache")
    monkeypatch.delenv("COSTLIB_ROOT", raising=False)
    seen = []

    def execute(notebook, target, parameters, *, cwd, on_kernel_ready):
        events.append("run")
        seen.append({k: os.environ.get(k) for k in ("COSTLIB_CACHE_DIR", "COSTLIB_ROOT",
                                                   "PYTHONPATH")})
        FakeExecutor()(notebook, target, parameters, cwd=cwd, on_kernel_ready=on_kernel_ready)

    nbs = [tiny_notebook(notebooks / n) for n in ("00_a.ipynb", "01_b.ipynb")]
    report.build_reports([DEFAULT, STEADY], tmp_path / "out", jobs=2, notebooks=nbs,
                         execute=execute, stream=io.StringIO())
    first_run = events.index("run")
    assert "warm" in events[:first_run]
    assert len({tuple(s.items()) for s in seen}) == 1  # every kernel, the same environment
    assert seen[0]["COSTLIB_CACHE_DIR"] == str(Path("relative-cache").resolve())
    assert seen[0]["COSTLIB_ROOT"] == str(PROJ_ROOT)
    assert seen[0]["PYTHONPATH"].split(os.pathsep)[0] == str(PACKAGE_DIR.parent)
    assert os.environ["COSTLIB_CACHE_DIR"] == "relative-cache"  # restored afterwards
    assert "COSTLIB_ROOT" not in os.environ


def test_two_params_files_with_one_stem_are_refused_before_anything_runs(tmp_path, notebooks):
    other = tmp_path / "elsewhere" / "default.yaml"
    other.parent.mkdir()
    other.write_text(DEFAULT.read_text())
    fake = FakeExecutor()
    with pytest.raises(CostlibError, match="would both write the report"):
        report.build_reports([DEFAULT, other], tmp_path / "out",
                             notebooks=[tiny_notebook(notebooks / "00_a.ipynb")], execute=fake)
    assert fake.calls == []


def test_jobs_option(monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(report, "build_reports",
                        lambda paths, out_dir, jobs: seen.update(jobs=jobs))
    assert cli_main(["report", "--jobs", "1", str(DEFAULT)]) == 0
    assert seen["jobs"] == 1
    assert cli_main(["report", str(DEFAULT)]) == 0
    assert seen["jobs"] is None
    assert report.default_jobs() == min(2, os.cpu_count() or 1)
    assert cli_main(["report", "--jobs", "0", str(DEFAULT)]) == 2
    assert "--jobs must be a whole number, 1 or more" in capsys.readouterr().err
