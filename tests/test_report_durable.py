"""Durable reports: a run stopped at any point leaves the previous report or the new one, never
none for long and never a mix; the next run mends what a killed one left; two runs into one
folder are refused; Ctrl-C and SIGTERM stop the run at once; kernels need no network."""

import io
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest

from costlib.cli import main as cli_main
from costlib.cli import report
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR

DEFAULT = PARAMS_DIR / "default.yaml"
SOURCE = Path(report.__file__).resolve().parents[2]  # the checkout these tests run


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


_LEVERS = {}


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """Each params file's levers computed once in the session (the one-page report's lever table
    takes seconds; it is not what is tested here)."""
    import costlib.whatif.levers as levers

    monkeypatch.setattr(report, "KERNEL_START_BACKOFF_S", 0.0)
    original = levers.lever_report

    def lever_report(params):
        key = repr(params)
        if key not in _LEVERS:
            _LEVERS[key] = original(params)
        return _LEVERS[key].copy()

    monkeypatch.setattr(levers, "lever_report", lever_report)


@pytest.fixture
def nbs(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    return [tiny_notebook(folder / n) for n in ("00_a.ipynb", "01_b.ipynb")]


class FakeExecutor:
    """Stands in for papermill: writes the notebook with one output, the text ``mark``; ``hook``
    runs first (it may raise, or send a signal)."""

    def __init__(self, mark="new", hook=None):
        self.mark = mark
        self.hook = hook or (lambda notebook: None)

    def __call__(self, notebook, target, parameters, *, cwd, on_kernel_ready):
        on_kernel_ready()
        self.hook(notebook)
        nb = nbformat.read(str(notebook), as_version=4)
        nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=self.mark)]
        nbformat.write(nb, str(target))


def mark_of(folder):
    nb = nbformat.read(str(folder / "00_a.ipynb"), as_version=4)
    return nb.cells[-1].outputs[0]["text"]


def build(out, nbs, mark, hook=None, stream=None):
    return report.build_reports([DEFAULT], out, jobs=1, notebooks=nbs,
                                execute=FakeExecutor(mark, hook), stream=stream or io.StringIO())


def a_dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


class Killed(BaseException):
    """What a fault injected into the swap raises: the run stops there, as under ``kill -9``."""


def kill():
    raise Killed


def test_a_run_killed_between_the_two_renames_is_mended_by_the_next_run(tmp_path, nbs,
                                                                       monkeypatch):
    monkeypatch.setattr(report, "_exchange", lambda a, b: False)  # the two-rename swap
    out = tmp_path / "out"
    assert build(out, nbs, "old") == 0
    staging = out / ".default.staging-1"
    shutil.copytree(out / "default", staging)
    with pytest.raises(Killed):
        report._swap_in(staging, out / "default", after_first_rename=kill)
    # the kill left no report folder, only the whole previous report under its backup name
    assert not (out / "default").exists()
    assert mark_of(out / f".default.old-{os.getpid()}") == "old"

    err = io.StringIO()
    report.recover_report_folder(out, "default", note=lambda text: err.write(text + "\n"))
    assert mark_of(out / "default") == "old"
    assert "out/default was missing" in err.getvalue()
    shutil.rmtree(staging)
    assert build(out, nbs, "new") == 0
    assert mark_of(out / "default") == "new"
    assert sorted(os.listdir(out)) == ["default"]


def _exchange_works(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").touch()
    return report._exchange(a, b) and (b / "x").exists() and not (a / "x").exists()


def test_the_exchange_never_leaves_the_report_folder_missing(tmp_path, nbs):
    if not _exchange_works(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    out = tmp_path / "out"
    assert build(out, nbs, "old") == 0
    staging = out / f".default.staging-{os.getpid()}"
    shutil.copytree(out / "default", staging)
    (staging / "00_a.ipynb").write_text((staging / "00_a.ipynb").read_text().replace('"old"',
                                                                                     '"new"'))
    with pytest.raises(Killed):
        report._swap_in(staging, out / "default", after_first_rename=kill)
    assert mark_of(out / "default") == "new"  # swapped in one step
    assert mark_of(staging) == "old"  # the kill left the old report in the staging folder
    report.recover_report_folder(out, "default")
    assert mark_of(out / "default") == "new"
    assert sorted(os.listdir(out)) == ["default"]


def test_the_next_run_restores_the_backup_of_a_dead_run_before_building(tmp_path, nbs):
    out = tmp_path / "out"
    assert build(out, nbs, "old") == 0
    os.rename(out / "default", out / f".default.old-{a_dead_pid()}")

    def the_previous_report_is_back(notebook):
        assert mark_of(out / "default") == "old"

    assert build(out, nbs, "new", hook=the_previous_report_is_back) == 0
    assert mark_of(out / "default") == "new"
    assert sorted(os.listdir(out)) == ["default"]


def test_a_stale_backup_beside_a_whole_report_is_removed(tmp_path, nbs):
    out = tmp_path / "out"
    assert build(out, nbs, "new") == 0
    stale = out / f".default.old-{a_dead_pid()}"
    stale.mkdir()
    (stale / "00_a.ipynb").write_text("an older report")
    report.recover_report_folder(out, "default")
    assert mark_of(out / "default") == "new"
    assert sorted(os.listdir(out)) == ["default"]


def test_stale_staging_of_a_dead_run_is_removed_and_a_live_runs_is_kept(tmp_path, nbs):
    out = tmp_path / "out"
    out.mkdir()
    dead = out / f".default.staging-{a_dead_pid()}"
    live = out / f".default.staging-{os.getppid()}"  # the process that started pytest: alive
    other = out / f".scenario_b_steady.staging-{a_dead_pid()}"  # another report's: not ours
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "00_a.ipynb").write_text("half written")
    assert build(out, nbs, "new") == 0
    assert sorted(os.listdir(out)) == sorted(["default", live.name, other.name])


def test_a_failed_run_leaves_no_hidden_file(tmp_path, nbs):
    out = tmp_path / "out"
    assert build(out, nbs, "old") == 0

    def boom(notebook):
        if notebook.name == "01_b.ipynb":
            raise OSError("disk on fire")  # retried, then the report fails

    assert build(out, nbs, "new", hook=boom) == 2
    assert mark_of(out / "default") == "old"
    assert sorted(os.listdir(out)) == ["default"]


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from costlib.cli.report import report_lock
    with report_lock(sys.argv[2], "default"):
        print("held", flush=True)
        sys.stdin.read()
""")


def test_a_second_run_into_a_folder_being_written_exits_2_with_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(SOURCE), str(out)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        code = cli_main(["report", str(DEFAULT), "--out", str(out)])
    finally:
        holder.communicate("")
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"costlib: error: {out / 'default'} is being written by another costlib "
                   f"report (pid {holder.pid}); wait for it or remove {out / '.default.lock'} "
                   "if no such process\n")
    assert sorted(os.listdir(out)) == []  # the holder removed its lock; nothing else was written


def test_the_lock_is_free_again_after_a_run_and_after_a_refusal(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with report.report_lock(out, "default"):
        assert (out / ".default.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(CostlibError, match=rf"pid {os.getpid()}\)"):
            with report.report_lock(out, "default"):
                pass
        with report.report_lock(out, "scenario_b_steady"):  # another report: its own lock
            pass
    with report.report_lock(out, "default"):
        pass
    assert os.listdir(out) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_keeps_the_previous_report_and_exits_130(tmp_path, nbs, capsys, signum):
    out = tmp_path / "out"
    assert build(out, nbs, "old") == 0

    def interrupt(notebook):
        if notebook.name == "01_b.ipynb":
            os.kill(os.getpid(), signum)  # delivered to the main thread, as Ctrl-C is
            time.sleep(0.5)

    assert build(out, nbs, "new", hook=interrupt) == report.EXIT_INTERRUPTED == 130
    assert mark_of(out / "default") == "old"
    assert sorted(os.listdir(out)) == ["default"]
    assert capsys.readouterr().err.splitlines() == [
        f"costlib: interrupted; the previous report in {out / 'default'} is kept"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or signum == signal.SIGINT


def test_an_interrupt_raised_in_a_job_keeps_the_previous_report(tmp_path, nbs, capsys):
    out = tmp_path / "out"
    assert build(out, nbs, "old") == 0

    def interrupt(notebook):
        if notebook.name == "01_b.ipynb":
            raise KeyboardInterrupt

    assert build(out, nbs, "new", hook=interrupt) == 130
    assert mark_of(out / "default") == "old"
    assert sorted(os.listdir(out)) == ["default"]


def test_an_interrupt_before_any_report_existed_says_nothing_was_written(tmp_path, nbs, capsys):
    out = tmp_path / "out"

    def interrupt(notebook):
        raise KeyboardInterrupt

    assert build(out, nbs, "new", hook=interrupt) == 130
    assert capsys.readouterr().err.splitlines() == [
        f"costlib: interrupted; nothing was written to {out / 'default'}"]
    assert os.listdir(out) == []


def _gone(pid):
    """The process has exited (a zombie not yet reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_stops_a_running_kernel_at_once(tmp_path, capsys):
    """A real kernel in a cell that would sleep ten minutes: Ctrl-C kills it and the run ends."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    pid_file = tmp_path / "kernel.pid"
    nb = tiny_notebook(folder / "00_a.ipynb", body=(
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)"))
    out = tmp_path / "out"

    def ctrl_c_once_the_cell_runs():
        while not (pid_file.exists() and pid_file.read_text()):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c_once_the_cell_runs, daemon=True).start()
    code = report.build_reports([DEFAULT], out, jobs=1, notebooks=[nb], stream=io.StringIO())
    assert code == 130
    kernel = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while not _gone(kernel) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(kernel)
    assert os.listdir(out) == []


def test_an_unknown_kernel_transport_is_one_line(monkeypatch):
    monkeypatch.setenv(report.TRANSPORT_ENV, "carrier-pigeon")
    with pytest.raises(CostlibError, match=r"COSTLIB_KERNEL_TRANSPORT='carrier-pigeon' is not a "
                                           r"kernel transport; valid: ipc or tcp"):
        report.kernel_transport()


NO_NETWORK = textwrap.dedent("""
    import socket, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    try:  # no interface is up, not even loopback
        socket.create_connection(("127.0.0.1", 9), timeout=5)
    except OSError as exc:
        print("no network:", exc.strerror, flush=True)
    else:
        sys.exit("loopback answered")
    from costlib.cli import report
    from costlib.core.paths import PARAMS_DIR
    sys.exit(report.build_reports([PARAMS_DIR / "default.yaml"], Path(sys.argv[2]), jobs=1,
                                  notebooks=[Path(sys.argv[3])]))
""")


def _unshare_works():
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -rn` (user, network namespace)")
def test_a_report_builds_with_no_network_interface_at_all(tmp_path, monkeypatch):
    monkeypatch.delenv(report.TRANSPORT_ENV, raising=False)
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = tiny_notebook(folder / "00_a.ipynb")
    out = tmp_path / "out"
    run = subprocess.run(["unshare", "-rn", sys.executable, "-c", NO_NETWORK, str(SOURCE),
                          str(out), str(nb)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("no network:")
    executed = nbformat.read(str(out / "default" / "00_a.ipynb"), as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "params/default.yaml\n"
    assert sorted(os.listdir(out)) == ["default"]
