"""Build reports: every notebook, executed with papermill, once per params file.

For a params file ``params/<stem>.yaml`` the report is the folder ``outputs/<stem>/`` holding
``report.html`` (the one page a manager reads: :mod:`costlib.lessons.summary`), ``summary.json``
(the estimate contract), ``line_items.csv``, and each executed notebook with an HTML export. A report is built in a temporary folder beside the
target and swapped in only when every notebook ran, so a failed run never leaves a half-written
report, and the previous one stays as it was.

Executed notebooks are scrubbed of what changes from run to run (papermill's timestamps and
durations, kernel start times), so rebuilding an unchanged report rewrites identical bytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from costlib.core.errors import CostlibError
from costlib.core.paths import NOTEBOOKS_DIR, OUTPUTS_DIR, PROJ_ROOT

KERNEL_NAME = "python3"


def register(subparsers) -> None:
    """Add ``costlib report``."""
    p = subparsers.add_parser("report", help="build the notebook report for each params file")
    p.add_argument("params", nargs="+", help="one or more params files")
    p.add_argument("--out", help="output folder (default: outputs/)")
    p.set_defaults(func=lambda args: build_reports([Path(p) for p in args.params],
                                                  out_dir=Path(args.out) if args.out else None))


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
    """Remove run-to-run noise (timestamps, durations, random ids) from an executed notebook."""
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
    text = _stable_widget_ids(nb, json.dumps(nb, ensure_ascii=False))
    # dump again so the renamed widget models are sorted by their new ids
    text = json.dumps(json.loads(text), indent=1, ensure_ascii=False, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


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
    leftovers = sorted((m for m in state if m not in mapping),
                       key=lambda m: json.dumps(state[m].get("model_name", "")))
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


def build_report(params_path: Path, out_root: Path = OUTPUTS_DIR,
                 notebooks: list[Path] | None = None, *, priced=None) -> Path:
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
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params
    from costlib.lessons.summary import write_summary
    from costlib.whatif.levers import lever_report

    params_path = Path(params_path)
    if priced is None:  # fail fast, with one line, before running anything
        params = load_params(params_path)
        priced = (params, estimate(params))
    params, result = priced
    notebooks = notebook_paths() if notebooks is None else notebooks
    if not notebooks:
        raise CostlibError(f"no notebooks found in {NOTEBOOKS_DIR}")
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / params_path.stem
    staging = Path(tempfile.mkdtemp(prefix=f".{params_path.stem}-", dir=out_root))
    try:
        for nb in notebooks:
            target = staging / nb.name
            try:
                pm.execute_notebook(
                    str(nb),
                    str(target),
                    parameters={"params_path": _param_value(params_path),
                                "chart_renderer": "svg"},
                    kernel_name=KERNEL_NAME,
                    cwd=str(nb.parent),
                    progress_bar=False,
                    log_output=False,
                )
            except PapermillExecutionError as exc:
                raise CostlibError(
                    f"{nb.name} failed for {params_path} at cell {exc.exec_count}: "
                    f"{exc.ename}: {exc.evalue}"
                ) from None
            scrub_notebook(target)
            export_html(target, target.with_suffix(".html"))
        write_summary(staging, params, result, params_path=params_path, levers=lever_report(params))
        if final.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{params_path.stem}-old-", dir=out_root))
            os.replace(final, backup / "old")
            os.replace(staging, final)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


def build_reports(params_paths: list[Path], out_dir: Path | None = None) -> int:
    """Build a report per params file; print where each is and its monthly totals.

    Every params file is loaded and priced first, so a file that ``costlib estimate`` rejects
    stops the run before any notebook is executed. Returns 0 when every report was built.
    """
    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params

    out_root = Path(out_dir) if out_dir else OUTPUTS_DIR
    loaded = [(p, load_params(p)) for p in params_paths]
    priced = [(p, params, estimate(params)) for p, params in loaded]
    for path, params, result in priced:
        folder = build_report(path, out_root, priced=(params, result))
        shown = folder.relative_to(PROJ_ROOT) if folder.is_relative_to(PROJ_ROOT) else folder
        print(f"report for {path}: {shown}/")
        totals = result.totals_frame()[["option", "kind", "monthly_usd", "usd_per_1k_tokens"]]
        print(
            totals.to_string(
                index=False,
                formatters={"monthly_usd": "{:,.2f}".format, "usd_per_1k_tokens": "{:.6f}".format},
            )
        )
        print(f"cheapest: {result.cheapest}")
        sys.stdout.flush()
    return 0
