"""Build reports: every notebook, executed with papermill, once per params file.

For a params file ``params/<stem>.yaml`` the report is the folder ``outputs/<stem>/`` holding
``report.html`` (the one page a manager reads: :mod:`costlib.lessons.summary`), ``summary.json``
(the estimate contract), ``line_items.csv``, and each executed notebook with an HTML export. A
report is built in a hidden staging folder beside the target (``.<stem>.staging-<pid>``) and
swapped in only when every notebook ran, so a failed run never leaves a half-written report, and
the previous one stays as it was. A run holds ``.<stem>.lock`` (a second run into that folder is
refused in one line) and first mends what a killed run left: a report whose swap was cut between
its two renames is put back from its backup (``.<stem>.old-<pid>``), stale staging is removed.
Ctrl-C or SIGTERM kills every kernel at once, removes the staging and exits 130; the reports not
yet swapped in stay as they were. Kernels talk over Unix sockets (:func:`kernel_transport`), so
a report builds with no network interface at all.

The unit of work is one notebook for one params file. A small pool of threads (``--jobs``,
default two, or one on a single core) runs those jobs, each in its own kernel; a thread mostly
waits on its kernel, so two threads keep two cores busy. A kernel that fails to start (over
TCP, two kernels starting at once can collide on a port) is started again after a short wait; a
cell that raises is never run again. Progress goes to stderr: a bar on a terminal, one line a
notebook otherwise.

Executed notebooks are scrubbed of what changes from run to run (papermill's timestamps and
durations, kernel start times), so rebuilding an unchanged report rewrites identical bytes,
whatever the number of jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from costlib.cli.outpath import check_report_out
from costlib.core.errors import EXIT_USAGE, CostlibError
from costlib.core.paths import NOTEBOOKS_DIR, OUTPUTS_DIR, PACKAGE_DIR, PROJ_ROOT

KERNEL_NAME = "python3"
KERNEL_START_ATTEMPTS = 4
"""How many times in all a notebook's kernel is started before the notebook counts as failed."""
KERNEL_START_BACKOFF_S = 0.5
"""The wait before the second start [s]; it doubles before each further one, plus up to half
again at random, so two kernels that collided do not start together again."""


def default_jobs() -> int:
    """Notebooks run at once by default: two, or one on a single core."""
    return max(1, min(2, os.cpu_count() or 1))


def _jobs_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs must be a whole number, 1 or more, not {text!r}")
    return value


def register(subparsers) -> None:
    """Add ``costlib report``."""
    p = subparsers.add_parser("report", help="build the notebook report for each params file")
    p.add_argument("params", nargs="+", help="one or more params files")
    p.add_argument("--out", help="output folder (default: outputs/)")
    p.add_argument("--jobs", type=_jobs_arg, default=None, metavar="N",
                   help=f"notebooks run at once (default: {default_jobs()}; 1: in sequence)")
    p.set_defaults(func=lambda args: build_reports([Path(p) for p in args.params],
                                                  out_dir=check_report_out(args.out) if args.out else None,
                                                  jobs=args.jobs))


def notebook_paths(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The course's notebooks in order (``00_*.ipynb``, ``01_*.ipynb``, ...)."""
    return sorted(p for p in Path(notebooks_dir).glob("*.ipynb") if not p.name.startswith("."))


def _param_value(params_path: Path) -> str:
    """How a params path is passed to a notebook: relative to the project root when inside it.

    A relative path keeps the executed notebooks identical on every machine.
    """
    path = params_path.resolve()
    try:
        return path.relative_to(PROJ_ROOT).as_posix()
    except ValueError:
        return str(path)


def scrub_notebook(path: Path) -> None:
    """Remove run-to-run noise (timestamps, durations, random ids, stream chunks) from an
    executed notebook."""
    # papermill metadata, cell timings and widget model ids change on every run
    nb = json.loads(path.read_text(encoding="utf-8"))
    pm = nb.get("metadata", {}).get("papermill", {})
    for key in ("start_time", "end_time", "duration", "input_path", "output_path"):
        pm.pop(key, None)
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        cpm = meta.get("papermill")
        if isinstance(cpm, dict):
            for key in ("start_time", "end_time", "duration", "exception", "status"):
                cpm.pop(key, None)
        meta.pop("execution", None)
        if "injected-parameters" in meta.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill gives it a random id each run
        if "outputs" in cell:
            cell["outputs"] = _join_streams(cell["outputs"])
    text = _stable_widget_ids(nb, json.dumps(nb, ensure_ascii=False))
    # dump again so the renamed widget models are sorted by their new ids
    text = json.dumps(json.loads(text), indent=1, ensure_ascii=False, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def _join_streams(outputs: list[dict]) -> list[dict]:
    """Join each run of consecutive stream outputs of one name (stdout, stderr) into one.

    The kernel sends what a cell prints in chunks, at a flush every so often: one ``print``
    can arrive as its text and then its newline, two outputs where another run had one (seen
    under load). Joined, a rebuilt notebook is the same whatever the timing; a notebook shows
    the two the same way. Streams apart (a chart between two prints) stay apart.
    """
    joined: list[dict] = []
    for out in outputs:
        prev = joined[-1] if joined else None
        if (prev is not None and out.get("output_type") == "stream"
                and prev.get("output_type") == "stream" and prev.get("name") == out.get("name")):
            text = "".join(prev["text"]) + "".join(out["text"])
            prev["text"] = text.splitlines(keepends=True)
        else:
            joined.append(out)
    return joined


def _stable_widget_ids(nb: dict, text: str) -> str:
    """Replace the random ids of ipywidgets models with ids numbered in a canonical order.

    Each run gives every widget model a fresh uuid4 hex id, used in the saved widget state and
    in the outputs that display it. Models are numbered by a walk that does not depend on the
    ids: the models displayed in the outputs, in cell order, then the models each one refers
    to (``IPY_MODEL_<id>``) by attribute name; so a rebuilt report is byte-identical.
    """
    state = (nb.get("metadata", {}).get("widgets", {})
             .get("application/vnd.jupyter.widget-state+json", {}).get("state", {}))
    if not state:
        return text
    roots = [
        out.get("data", {}).get("application/vnd.jupyter.widget-view+json", {}).get("model_id")
        for cell in nb.get("cells", []) for out in cell.get("outputs", [])
    ]
    mapping: dict[str, str] = {}

    def visit(model_id):
        if model_id not in state or model_id in mapping:
            return
        mapping[model_id] = f"{len(mapping):032x}"
        attrs = state[model_id].get("state", {})
        for key in sorted(attrs):
            values = attrs[key] if isinstance(attrs[key], list) else [attrs[key]]
            for value in values:
                if isinstance(value, str) and value.startswith("IPY_MODEL_"):
                    visit(value[len("IPY_MODEL_"):])

    for root in roots:
        visit(root)
    # models no output displays: ordered by their content without ids (the model name first),
    # never by the order the kernel happened to report them in
    leftovers = sorted((m for m in state if m not in mapping),
                       key=lambda m: (json.dumps(state[m].get("model_name", "")),
                                      re.sub(r"[0-9a-f]{32}", "",
                                             json.dumps(state[m], sort_keys=True))))
    for model_id in leftovers:
        visit(model_id)
    return re.sub(r"[0-9a-f]{32}", lambda m: mapping.get(m.group(0), m.group(0)), text)


def export_html(notebook: Path, target: Path) -> None:
    """Write the static chapter of an executed notebook: code hidden, a table of contents, offline.

    Charts are inline SVG; the page carries no script at all (nbconvert's loaders fetch MathJax,
    require.js and the widget manager from CDNs), so it renders with no network. An interactive
    control has no static form: a note stands where it was (the notebook itself has it).
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter()
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    target.write_text(offline_html(_stable_element_ids(body)), encoding="utf-8")


_WIDGET_VIEW = re.compile(r'<script type="application/vnd\.jupyter\.widget-view\+json">.*?</script>', re.S)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_H2 = re.compile(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', re.S)
WIDGET_NOTE = ('<p class="costlib-widget-note"><em>An interactive control stands here in the notebook; '
               'open it in JupyterLab (<code>make lab</code>) to move it.</em></p>')


def offline_html(page: str) -> str:
    """A nbconvert page with every script removed, widgets noted, and a table of contents."""
    page = _WIDGET_VIEW.sub(WIDGET_NOTE, page)
    page = _SCRIPT.sub("", page)
    heads = _H2.findall(page)
    if heads:
        items = "".join(f'<li><a href="#{anchor}">{re.sub("<[^>]+>", "", title).strip()}</a></li>'
                        for anchor, title in heads)
        toc = ('<nav class="costlib-toc" style="font-family:system-ui,sans-serif;font-size:.9rem;'
               'margin:1rem 2rem"><a href="report.html">the one-page report</a> · <strong>contents</strong>'
               f'<ol>{items}</ol></nav>')
        first = page.find('<div class="jp-Cell')
        if first > 0:
            page = page[:first] + toc + page[first:]
    return page


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stable_element_ids(html: str) -> str:
    """Number the random uuid4 element ids nbconvert gives widget outputs, in order of
    appearance, so a rebuilt HTML export is byte-identical."""
    mapping: dict[str, str] = {}

    def number(match):
        key = match.group(0)
        if key not in mapping:
            n = f"{len(mapping):012x}"
            mapping[key] = f"00000000-0000-4000-8000-{n}"
        return mapping[key]

    return _UUID.sub(number, html)


# --- running the notebooks -------------------------------------------------------------------


def papermill_execute(notebook: Path, target: Path, parameters: dict, *, cwd: Path,
                      on_kernel_ready) -> None:
    """Execute one notebook with papermill into ``target``; the runner's default executor.

    ``on_kernel_ready()`` is called once the kernel has answered and before the first cell
    runs: an error raised before it is a kernel that did not start, and is worth one more try;
    an error after it is the notebook's own. The kernel's working folder is ``cwd``, handed to
    nbclient rather than as papermill's ``cwd=``, which calls ``os.chdir`` for the whole
    process: two threads would change each other's folder. The kernel talks over
    :func:`kernel_transport` and is known to the run, which stops it on Ctrl-C.
    """
    import papermill as pm

    with _KERNELS.manager() as km:
        pm.execute_notebook(
            str(notebook),
            str(target),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            km=km,
            progress_bar=False,
            log_output=False,
            resources={"metadata": {"path": str(cwd)}},
            # every output is in once the last cell has replied: no need to wait for a clean exit
            shutdown_kernel="immediate",
            on_notebook_start=lambda **_: (_KERNELS.check(km), on_kernel_ready()),
            # over TCP, ipykernel warns on every start that it is unencrypted: it would break the
            # progress bar
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )


TRANSPORT_ENV = "COSTLIB_KERNEL_TRANSPORT"
"""The environment variable that chooses how the runner talks to its kernels: ``ipc`` or ``tcp``."""


def kernel_transport() -> str:
    """How the runner talks to its kernels: ``ipc`` (Unix sockets in a private temporary folder,
    the default on POSIX) or ``tcp`` (ports on 127.0.0.1, the default on Windows).

    Over ``ipc`` a report builds with no network interface at all, not even loopback, and two
    kernels never collide on a port. ``COSTLIB_KERNEL_TRANSPORT=tcp`` chooses ports.
    """
    default = "tcp" if os.name == "nt" else "ipc"
    value = os.environ.get(TRANSPORT_ENV, "").strip().lower() or default
    if value not in ("ipc", "tcp") or (value == "ipc" and os.name == "nt"):
        valid = "tcp" if os.name == "nt" else "ipc or tcp"
        raise CostlibError(f"environment variable {TRANSPORT_ENV}={value!r} is not a kernel "
                           f"transport; valid: {valid}")
    return value


class _Stopped(Exception):
    """The run is stopping (Ctrl-C or SIGTERM): a kernel that just started is stopped again."""


class _Kernels:
    """The kernels of one run, so that Ctrl-C can stop every one of them at once.

    Each kernel is killed with its process group (the kernel and whatever it spawned): the
    kernel's manager belongs to the event loop of the thread that runs its notebook, and that
    thread's nbclient sees the kernel die within a second, cleans up its connection files and
    returns. A kernel that starts after the stop is stopped as soon as it answers.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._live: set = set()
        self._count = 0
        self.stopping = threading.Event()
        self.folder: Path | None = None  # the ipc sockets, made on first use

    @contextmanager
    def manager(self):
        from jupyter_client.manager import AsyncKernelManager

        if self.stopping.is_set():
            raise _Stopped("the run is stopping")
        transport = kernel_transport()
        with self._lock:
            self._count += 1
            kwargs = {}
            if transport == "ipc":
                if self.folder is None:
                    _remove_stale_kernel_folders()
                    self.folder = Path(tempfile.mkdtemp(prefix=f"costlib-kernels-{os.getpid()}-"))
                # an absolute path: the kernel runs in notebooks/, the runner elsewhere
                kwargs["ip"] = str(self.folder / f"k{self._count}")
            km = AsyncKernelManager(kernel_name=KERNEL_NAME, transport=transport, **kwargs)
            self._live.add(km)
        try:
            yield km
        finally:
            with self._lock:
                self._live.discard(km)

    def check(self, km) -> None:
        """Called once a kernel answered: stop it at once if the run is stopping."""
        if self.stopping.is_set():
            _kill_kernel(km)
            raise _Stopped("the run is stopping")

    def stop_all(self) -> None:
        self.stopping.set()
        with self._lock:
            live = list(self._live)
        for km in live:
            _kill_kernel(km)

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _remove_stale_kernel_folders(tmp: Path | None = None) -> None:
    """Remove the socket folders (``costlib-kernels-<pid>-*`` in the temporary folder) of runs
    that were killed; a killed run's kernels exit by themselves (ipykernel polls its parent)."""
    tmp = Path(tmp or tempfile.gettempdir())
    for entry in tmp.glob("costlib-kernels-*-*"):
        match = re.fullmatch(r"costlib-kernels-(\d+)-\w+", entry.name)
        try:
            mine = entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid == os.getuid()
        except (OSError, AttributeError):
            mine = False
        if match and mine and not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _kill_kernel(km) -> None:
    """Kill a kernel's process group (or the kernel alone); nothing if it has not started."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(os.getpgid(process.pid), signal.SIGKILL)
    except (AttributeError, OSError):
        try:
            process.kill()
        except OSError:
            pass


_KERNELS = _Kernels()
"""The kernels of the run under way (one run at a time in a process: :func:`run_reports`)."""


@dataclass(frozen=True)
class Job:
    """One notebook for one params file, executed into the report's staging folder."""

    params_path: Path
    notebook: Path
    target: Path

    @property
    def label(self) -> str:
        return f"{self.params_path.stem}: {self.notebook.name}"


@dataclass(eq=False)
class _Report:
    """One params file's report while it is built."""

    params_path: Path
    params: object
    result: object
    staging: Path
    final: Path
    remaining: int
    failed: threading.Event = field(default_factory=threading.Event)
    summary_written: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    finished: bool = False
    folder: Path | None = None


class _JobFailed(Exception):
    """A notebook failed; the message is the one line the user sees."""

    def __init__(self, message: str, cell: int | None = None):
        super().__init__(message)
        self.cell = cell


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retryable(exc: BaseException) -> bool:
    """Whether an error before the kernel answered may go away if the kernel is started again.

    A port taken by another kernel, a kernel that died or was slow to answer: yes. A missing
    kernelspec, an unreadable notebook, a papermill error about the parameters: never.
    """
    from papermill.exceptions import PapermillException

    never = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError,
             ValueError, PapermillException)
    return not isinstance(exc, never) and type(exc).__name__ != "NoSuchKernel"


def run_job(job: Job, execute=papermill_execute, *, note=None,
            stop: threading.Event | None = None) -> None:
    """Execute one notebook, starting its kernel again if it did not start; scrub and export it.

    Raises
    ------
    _JobFailed
        A cell raised (never retried), the kernel did not start in
        :data:`KERNEL_START_ATTEMPTS` tries, or it died; the message names the params file,
        the notebook and, for a cell, the cell; or the run is stopping (``stop`` is set), when
        a kernel is not started again.
    """
    from papermill.exceptions import PapermillExecutionError

    parameters = {"params_path": _param_value(job.params_path), "chart_renderer": "svg"}
    where = f"{job.notebook.name} failed for {job.params_path}"
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        ready = threading.Event()
        try:
            execute(job.notebook, job.target, parameters, cwd=job.notebook.parent,
                    on_kernel_ready=ready.set)
            break
        except PapermillExecutionError as exc:
            raise _JobFailed(f"{where} at cell {exc.exec_count}: {exc.ename}: {exc.evalue}",
                             cell=exc.exec_count) from None
        except Exception as exc:  # noqa: BLE001 - sorted into "start again" and "failed"
            if isinstance(exc, _Stopped) or (stop is not None and stop.is_set()):
                raise _JobFailed(f"{where}: the run was interrupted") from None
            if ready.is_set():
                raise _JobFailed(f"{where}: its kernel stopped: {_one_line(exc)}") from None
            if not _retryable(exc):
                raise _JobFailed(f"{where}: {_one_line(exc)}") from None
            if attempt == KERNEL_START_ATTEMPTS:
                raise _JobFailed(f"{where}: its kernel did not start ({attempt} attempts): "
                                 f"{_one_line(exc)}") from None
            wait = KERNEL_START_BACKOFF_S * 2 ** (attempt - 1) * (1 + random.random() / 2)
            if note:
                note(f"{job.label}: kernel did not start ({_one_line(exc)}); "
                     f"starting it again in {wait:.1f} s")
            time.sleep(wait)
    scrub_notebook(job.target)
    export_html(job.target, job.target.with_suffix(".html"))


@contextmanager
def _kernel_environment():
    """What every kernel of one run inherits, so they all see the runner's costlib.

    ``COSTLIB_ROOT`` is the runner's project (params files are found there); from a source
    checkout its folder goes first on ``PYTHONPATH`` (a shared virtualenv with costlib
    installed from another checkout would otherwise run that one's code); a relative
    ``COSTLIB_CACHE_DIR`` is made absolute, since the kernels run in ``notebooks/``. Left unset,
    the price-book cache is its default folder, the same for every kernel.
    """
    saved = {k: os.environ.get(k) for k in ("COSTLIB_ROOT", "PYTHONPATH", "COSTLIB_CACHE_DIR")}
    os.environ["COSTLIB_ROOT"] = str(PROJ_ROOT)
    source = PACKAGE_DIR.parent
    if (source / "pyproject.toml").exists():
        rest = [p for p in (saved["PYTHONPATH"] or "").split(os.pathsep) if p]
        os.environ["PYTHONPATH"] = os.pathsep.join([str(source)] + rest)
    if saved["COSTLIB_CACHE_DIR"]:
        cache = Path(saved["COSTLIB_CACHE_DIR"]).expanduser().resolve()
        os.environ["COSTLIB_CACHE_DIR"] = str(cache)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _warm_price_book() -> None:
    """Load and check the price book once, in the runner, before any kernel starts.

    The checked book is cached on disk (keyed on the table files) where every kernel of the run
    looks, so no kernel checks the tables again.
    """
    from costlib.tables.prices import load_price_book

    load_price_book()


# --- the report folder: staging, swap, lock, recovery ----------------------------------------
#
# For params stem S in out_root, a run holds the lock file .S.lock, builds into .S.staging-<pid>
# and swaps it in: on Linux the two folders are exchanged in one step, then the staging folder
# (now the old report) is removed. Elsewhere: S -> .S.old-<pid>, .S.staging-<pid> -> S, then
# .S.old-<pid> is removed; a run killed between the two renames leaves no S but a whole
# .S.old-<pid>, which the next run into out_root puts back before anything else. So S is the
# previous report or the new one, never a mix, and (without the exchange) is missing only until
# the next run.


def _staging_path(out_root: Path, stem: str) -> Path:
    return out_root / f".{stem}.staging-{os.getpid()}"


def _backup_path(final: Path) -> Path:
    return final.parent / f".{final.name}.old-{os.getpid()}"


def _lock_path(out_root: Path, stem: str) -> Path:
    return out_root / f".{stem}.lock"


def _shown(path: Path) -> str:
    """A path as the user reads it: relative to the project when inside it."""
    path = Path(path)
    absolute = path.absolute()
    return str(absolute.relative_to(PROJ_ROOT) if absolute.is_relative_to(PROJ_ROOT) else path)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step: Linux ``renameat2(RENAME_EXCHANGE)``.

    Returns False where the system or the file system cannot (another OS, an old kernel or C
    library, a file system without it); the caller then renames twice.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2  # <fcntl.h>, <linux/fs.h>
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(staging: Path, final: Path, *, after_first_rename=None) -> None:
    """Replace ``final`` by ``staging``, the old report removed after.

    Where the system can, the two folders are exchanged in one step (:func:`_exchange`): the
    old report is then in the staging folder, and ``final`` is never missing. Otherwise the
    old report is renamed aside (``.<stem>.old-<pid>``) and the new one renamed into place; a
    kill in between is mended by the next run (:func:`recover_report_folder`).
    ``after_first_rename()`` is a test's fault injection, called after the first step.
    """
    if final.exists():
        if _exchange(staging, final):
            if after_first_rename is not None:
                after_first_rename()
            shutil.rmtree(staging, ignore_errors=True)
            return
        backup = _backup_path(final)
        os.rename(final, backup)
        if after_first_rename is not None:
            after_first_rename()
        os.rename(staging, final)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.rename(staging, final)


def _pid_alive(pid: int) -> bool:
    """Whether a process of that id exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


def recover_report_folder(out_root: Path, stem: str, *, note=None) -> None:
    """Mend what an interrupted run left of ``out_root/<stem>``; called under the folder's lock.

    A backup (``.<stem>.old-<pid>``) of a run killed between its two renames is renamed back to
    ``<stem>`` when that is missing, and removed when it is not; staging folders
    (``.<stem>.staging-<pid>``) are removed. Leftovers of a process still alive (another run
    whose lock file was removed by hand) are left alone; those of this process are its own
    earlier run's. ``note(text)`` is told of a restored report.
    """
    out_root = Path(out_root)
    final = out_root / stem
    pattern = re.compile(rf"\.{re.escape(stem)}\.(staging|old)-(\d+)")
    backups: list[Path] = []
    stale: list[Path] = []
    for entry in sorted(out_root.iterdir()):
        match = pattern.fullmatch(entry.name)
        if not match:
            continue
        pid = int(match.group(2))
        if pid != os.getpid() and _pid_alive(pid):
            continue
        (backups if match.group(1) == "old" else stale).append(entry)
    if backups and not final.exists():
        newest = max(backups, key=lambda p: p.stat().st_mtime)
        os.rename(newest, final)
        backups.remove(newest)
        if note:
            note(f"costlib: {_shown(final)} was missing (a run was stopped while swapping it); "
                 "its previous report is restored")
    for entry in stale + backups:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@contextmanager
def report_lock(out_root: Path, stem: str):
    """Hold ``out_root/.<stem>.lock`` (``flock``, exclusive) while the body runs; removed after.

    Raises
    ------
    CostlibError
        Another run holds it: one line naming the folder, that run's pid and the lock file.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield None
        return
    path = _lock_path(Path(out_root), stem)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise CostlibError(
                f"{_shown(Path(out_root) / stem)} is being written by another costlib report "
                f"(pid {holder}); wait for it or remove {_shown(path)} if no such process"
            ) from None
        # the file may have been removed by the run that held it, just before: lock the new one
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        try:
            path.unlink(missing_ok=True)  # still held: no run can lock this file any more
        finally:
            os.close(fd)


@contextmanager
def _termination_is_an_interrupt():
    """While the body runs in the main thread, SIGTERM raises KeyboardInterrupt, as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_reports(priced: list[tuple[Path, object, object]], out_root: Path = OUTPUTS_DIR,
                notebooks: list[Path] | None = None, *, jobs: int | None = None,
                execute=papermill_execute, progress: Progress | None = None,
                on_finished=None) -> list[_Report]:
    """Build the report of each priced params file, the notebooks of all of them in one pool.

    Parameters
    ----------
    priced : list of (Path, Params, Estimate)
        Each params file, loaded and priced.
    out_root : Path
        The reports go to ``out_root/<stem>/``.
    notebooks : list of Path, optional
        Default :func:`notebook_paths`.
    jobs : int, optional
        Notebooks run at once (default :func:`default_jobs`); 1 runs them in sequence.
    execute : callable
        ``execute(notebook, target, parameters, cwd=, on_kernel_ready=)``; tests pass a fake.
    progress : Progress, optional
        Told when each job starts and ends.
    on_finished : callable, optional
        Called with each report once it is built or has failed, in the order of ``priced``.

    Returns
    -------
    list of _Report
        In the order of ``priced``; ``folder`` is set for a built report, ``error`` (one line)
        for a failed one, whose previous report is left as it was.

    Raises
    ------
    CostlibError
        Another run is writing one of the reports (its lock is held); nothing is run.
    KeyboardInterrupt
        Ctrl-C or SIGTERM: every kernel is stopped and every staging folder removed; the reports
        not yet swapped in stay as they were.

    Each report folder is locked (:func:`report_lock`) and mended (:func:`recover_report_folder`)
    before anything runs, and built in a hidden staging folder beside it.
    """
    global _KERNELS
    from costlib.lessons.summary import write_summary
    from costlib.whatif.levers import lever_report

    notebooks = notebook_paths() if notebooks is None else list(notebooks)
    if not notebooks:
        raise CostlibError(f"no notebooks found in {NOTEBOOKS_DIR}")
    jobs = jobs or default_jobs()
    if execute is papermill_execute:
        kernel_transport()  # a bad COSTLIB_KERNEL_TRANSPORT is one line before anything runs
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    reports: list[_Report] = []
    work: list[tuple[Job, _Report]] = []
    lock = threading.Lock()
    shown = [0]  # reports handed to on_finished so far

    def finish(report: _Report) -> None:
        with lock:
            report.remaining -= 1
            last = report.remaining == 0
        if not last:
            return
        report.summary_written.wait()
        if not report.failed.is_set():
            _swap_in(report.staging, report.final)
            report.folder = report.final
        else:
            shutil.rmtree(report.staging, ignore_errors=True)
        with lock:
            report.finished = True
            while shown[0] < len(reports) and reports[shown[0]].finished:
                if on_finished:
                    on_finished(reports[shown[0]])
                shown[0] += 1

    def run(job: Job, report: _Report) -> None:
        try:
            if report.failed.is_set():
                if progress:
                    progress.finished(job.label, None, "skipped: its report failed")
                return
            if progress:
                progress.started(job.label)
            t0 = time.perf_counter()
            try:
                run_job(job, execute, note=progress.note if progress else None,
                        stop=kernels.stopping)
            except _JobFailed as exc:
                with lock:
                    if report.error is None:
                        report.error = str(exc)
                report.failed.set()
                if progress:
                    outcome = ("stopped" if kernels.stopping.is_set() else "failed"
                               if exc.cell is None else f"failed at cell {exc.cell}")
                    progress.finished(job.label, time.perf_counter() - t0, outcome)
                return
            if progress:
                progress.finished(job.label, time.perf_counter() - t0, "done")
        except BaseException:
            report.failed.set()
            raise
        finally:
            finish(report)

    kernels = _Kernels()
    previous_kernels, _KERNELS = _KERNELS, kernels
    try:
        with ExitStack() as held:
            for stem in sorted({Path(p).stem for p, _, _ in priced}):
                held.enter_context(report_lock(out_root, stem))
            for stem in sorted({Path(p).stem for p, _, _ in priced}):
                recover_report_folder(out_root, stem, note=progress.note if progress else
                                      lambda text: print(text, file=sys.stderr))
            held.enter_context(_termination_is_an_interrupt())
            _run_pool(priced, out_root, notebooks, jobs, reports, work, run, kernels,
                      write_summary, lever_report)
    finally:
        _KERNELS = previous_kernels
        kernels.close()
    return reports


def _run_pool(priced, out_root, notebooks, jobs, reports, work, run, kernels, write_summary,
              lever_report) -> None:
    """Stage each report, run every job in the pool; on any exit no staging folder is left."""
    try:
        for params_path, params, result in priced:
            params_path = Path(params_path)
            staging = _staging_path(out_root, params_path.stem)
            staging.mkdir()
            report = _Report(params_path, params, result, staging, out_root / params_path.stem,
                             remaining=len(notebooks))
            reports.append(report)
            work += [(Job(params_path, nb, staging / nb.name), report) for nb in notebooks]
        with _kernel_environment():
            _warm_price_book()
            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="costlib-report") as pool:
                futures = [pool.submit(run, job, report) for job, report in work]
                try:
                    # the one-page report needs no notebook: written while the kernels run,
                    # it does not wait at the end (its levers take seconds)
                    for report in reports:
                        try:
                            if not report.failed.is_set():
                                write_summary(report.staging, report.params, report.result,
                                              params_path=report.params_path,
                                              levers=lever_report(report.params))
                        finally:
                            report.summary_written.set()
                    for future in futures:
                        future.result()
                except BaseException:  # a bug, Ctrl-C or SIGTERM: stop now, swap nothing more
                    for report in reports:
                        report.failed.set()
                        report.summary_written.set()
                    kernels.stop_all()  # the running notebooks end within a second
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        for report in reports:
            if report.staging.exists():
                shutil.rmtree(report.staging, ignore_errors=True)


def build_report(params_path: Path, out_root: Path = OUTPUTS_DIR,
                 notebooks: list[Path] | None = None, *, priced=None, jobs: int | None = None,
                 execute=papermill_execute) -> Path:
    """Execute every notebook for one params file into ``out_root/<stem>/``.

    Returns
    -------
    Path
        The report folder.

    Raises
    ------
    CostlibError
        The params file is invalid (nothing is run) or a notebook failed (nothing is replaced);
        the message names the notebook and the cell.
    """
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params

    params_path = Path(params_path)
    if priced is None:  # fail fast, with one line, before running anything
        params = load_params(params_path)
        priced = (params, estimate(params))
    params, result = priced
    (report,) = run_reports([(params_path, params, result)], out_root, notebooks, jobs=jobs,
                            execute=execute)
    if report.error:
        raise CostlibError(report.error)
    return report.folder


def build_reports(params_paths: list[Path], out_dir: Path | None = None, *,
                  jobs: int | None = None, notebooks: list[Path] | None = None,
                  execute=papermill_execute, stream=None) -> int:
    """Build a report per params file; print where each is and its monthly totals.

    Every params file is loaded and priced first, so a file that ``costlib estimate`` rejects
    stops the run before any notebook is executed. The notebooks of all the files then run in
    one pool of ``jobs`` (default :func:`default_jobs`), progress on ``stream`` (default
    stderr). A report whose notebook failed is not replaced; one line names the params file,
    the notebook and the cell, the other reports are still built, and the exit code is 2.
    Returns 0 when every report was built.

    Ctrl-C or SIGTERM stops the run at once (kernels stopped, staging removed): one line says
    which reports were kept as they were, and the exit code is :data:`EXIT_INTERRUPTED`.
    """
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params

    out_root = Path(out_dir) if out_dir else OUTPUTS_DIR
    unique: dict[Path, Path] = {}
    for p in map(Path, params_paths):
        unique.setdefault(p.resolve(), p)
    stems: dict[str, Path] = {}
    for p in unique.values():
        if p.stem in stems:
            raise CostlibError(f"{stems[p.stem]} and {p} would both write the report "
                               f"{out_root / p.stem}; rename one")
        stems[p.stem] = p
    try:
        loaded = [(p, load_params(p)) for p in unique.values()]
        priced = [(p, params, estimate(params)) for p, params in loaded]
    except KeyboardInterrupt:
        print(f"costlib: {_interrupted(out_root, list(unique.values()))}", file=sys.stderr)
        return EXIT_INTERRUPTED
    notebooks = notebook_paths() if notebooks is None else list(notebooks)
    jobs = jobs or default_jobs()
    progress = Progress(len(priced) * len(notebooks), stream=stream, workers=jobs)

    def show(report: _Report) -> None:
        if report.folder is None:
            return
        folder = report.folder
        where = folder.relative_to(PROJ_ROOT) if folder.is_relative_to(PROJ_ROOT) else folder
        totals = report.result.totals_frame()[
            ["option", "kind", "monthly_usd", "usd_per_1k_tokens"]]
        table = totals.to_string(index=False, formatters={
            "monthly_usd": "{:,.2f}".format, "usd_per_1k_tokens": "{:.6f}".format})
        progress.write(f"report for {report.params_path}: {where}/\n{table}\n"
                       f"cheapest: {report.result.cheapest}\n", sys.stdout)

    built: list[Path] = []

    def show_and_count(report: _Report) -> None:
        if report.folder is not None:
            built.append(report.params_path)
        show(report)

    try:
        reports = run_reports(priced, out_root, notebooks, jobs=jobs, execute=execute,
                              progress=progress, on_finished=show_and_count)
    except KeyboardInterrupt:
        progress.close()
        print(f"costlib: {_interrupted(out_root, [p for p in unique.values() if p not in built])}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        progress.close()
    errors = [r.error for r in reports if r.error]
    for error in errors:
        print(f"costlib: error: {error}", file=sys.stderr)
    return EXIT_USAGE if errors else 0


EXIT_INTERRUPTED = 130
"""The exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it)."""


def _interrupted(out_root: Path, not_built: list[Path]) -> str:
    """The one line of a stopped run: which report folders were kept, which never existed."""
    kept = [_shown(out_root / p.stem) for p in not_built if (out_root / p.stem).is_dir()]
    missing = [_shown(out_root / p.stem) for p in not_built if not (out_root / p.stem).is_dir()]
    parts = []
    if kept:
        parts.append(f"the previous report in {', '.join(kept)} is kept" if len(kept) == 1 else
                     f"the previous reports in {', '.join(kept)} are kept")
    if missing:
        parts.append(f"nothing was written to {', '.join(missing)}")
    return "interrupted; " + ("; ".join(parts) or "every report was already built")


# --- progress --------------------------------------------------------------------------------


class Progress:
    """How many of a run's notebooks are done, which are running, and the time so far.

    On a terminal, one line redrawn in place (a bar, the count, the seconds, the running
    notebooks); otherwise one line per notebook as it ends, such as
    ``[3/25] scenario_b_steady: 03_throughput.ipynb done in 6.1 s``. Both end with a line of
    the total time (none when no notebook started). Safe to call from several threads.
    """

    WIDTH = 24

    def __init__(self, total: int, *, stream=None, tty: bool | None = None, workers: int = 1,
                 refresh_s: float = 0.25):
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.workers = workers
        self.done = 0
        self.running: list[str] = []
        self.t0 = time.perf_counter()
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._drawn = False
        self._ticker = None
        if self.tty:
            self._ticker = threading.Thread(target=self._tick, args=(refresh_s,), daemon=True,
                                            name="costlib-progress")
            self._ticker.start()

    def started(self, label: str) -> None:
        with self._lock:
            self.running.append(label)
            self._draw()

    def finished(self, label: str, seconds: float | None, outcome: str = "done") -> None:
        """A job ended: ``outcome`` is "done", "failed" or why it was skipped."""
        with self._lock:
            if label in self.running:
                self.running.remove(label)
            self.done += 1
            took = f" in {seconds:.1f} s" if seconds is not None and outcome == "done" else (
                f" after {seconds:.1f} s" if seconds is not None else "")
            line = f"[{self.done}/{self.total}] {label} {outcome}{took}"
            if not self.tty:
                self._print(line)
            elif outcome != "done":
                self._print(line)  # a failure stays above the bar
            else:
                self._draw()

    def note(self, text: str) -> None:
        """A line that stays: a kernel started again, say."""
        with self._lock:
            self._print(text)

    def write(self, text: str, stream=None) -> None:
        """Print ``text`` (to stdout, say) without tearing the bar."""
        with self._lock:
            self._clear()
            out = stream or self.stream
            out.write(text)
            out.flush()
            self._draw()

    def close(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            if not self.done and not self.running:
                return  # nothing ran (refused before the first notebook): no total to give
            noun = "notebook" if self.total == 1 else "notebooks"
            at_once = "in sequence" if self.workers == 1 else f"{self.workers} at a time"
            self._print(f"{self.done} of {self.total} {noun} in "
                        f"{time.perf_counter() - self.t0:.1f} s, {at_once}")
        if self._ticker:
            self._ticker.join()

    def _print(self, line: str) -> None:
        self._clear()
        self.stream.write(line + "\n")
        self.stream.flush()
        self._draw()

    def _line(self) -> str:
        filled = round(self.WIDTH * self.done / self.total) if self.total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        running = ", ".join(self.running)
        text = (f"[{bar}] {self.done}/{self.total} {time.perf_counter() - self.t0:5.0f} s"
                + (f"  running {running}" if running else ""))
        width = shutil.get_terminal_size((100, 20)).columns - 1
        return text if len(text) <= width else text[:max(width - 1, 0)] + "…"

    def _draw(self) -> None:
        if self.tty and not self._closed.is_set():
            self.stream.write("\r\x1b[K" + self._line())
            self.stream.flush()
            self._drawn = True

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False

    def _tick(self, every: float) -> None:
        while not self._closed.wait(every):
            with self._lock:
                self._draw()
