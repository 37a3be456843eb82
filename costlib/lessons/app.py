"""The cost explorer as one web page (``make app`` serves ``app/explorer.ipynb`` with Voila).

The page is a thin layer over ``params file -> costlib -> tables and charts``, like the lessons'
"try it" controls (:mod:`costlib.lessons.widgets`): a params-file choice (one of ``params/*.yaml``
or an uploaded YAML file), the params in force, the controls, the monthly total per option, the
bill by category, one category's line items, and the break-even of the lesson 09 verdict.

Every change re-reads the params file with the controls as ``--set`` overrides
(:func:`costlib.bill.params.load_params`) and re-prices it with
:func:`costlib.bill.estimate.estimate`, so a number on the page is the number
``costlib estimate FILE --set ...`` prints, and a bad value or a bad file shows the CLI's own
one-line error (``costlib: error: ...``, CSS class ``qa-error``) while the rest of the page keeps
working. Handlers fire in plain Python too (``page.controls["workload.avg_rps"].value = 4``).

Stable hooks for a browser test: the file choice ``qa-source``, the upload ``qa-upload``, each
control ``qa-control`` plus ``qa-<key with dots as dashes>``, the error line ``qa-error``, the
totals ``qa-totals`` with ``<td class="total" data-option="NAME">`` cells, the charts
``qa-chart``.
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as widgets

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params, load_params
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.lessons import charts, verdict
from costlib.lessons.widgets import draw, traffic_scale_overrides

AVG_RPS = "workload.avg_rps"
"""The traffic control's params key: moving it scales the whole profile, its shape kept."""


def cli_error(exc: CostlibError, path: Path | None = None, shown: str | None = None) -> str:
    """The line the CLI prints for ``exc``: ``costlib: error: <message>``.

    ``path`` (where the page read the file) is replaced by ``shown`` (the name a person knows
    it by: ``params/default.yaml``, or an upload's file name), so the line is the one
    ``costlib estimate <shown>`` prints run where that name resolves.

    >>> cli_error(CostlibError("/tmp/x/a.yaml: not valid YAML"), Path("/tmp/x/a.yaml"), "a.yaml")
    'costlib: error: a.yaml: not valid YAML'
    """
    message = exc.message
    if path is not None and shown is not None:
        message = message.replace(str(path), shown)
    return f"costlib: error: {message}"


def params_files() -> list[tuple[str, Path]]:
    """The shipped params files as ``(label, path)``, labelled as the CLI names them."""
    return [(f"params/{p.name}", p) for p in sorted(PARAMS_DIR.glob("*.yaml"))]


def cache_keys(params: Params) -> list[str]:
    """The params keys of every response cache's hit rate (``options.NAME.cache.hit_fraction``)."""
    return [f"options.{name}.cache.hit_fraction" for name, o in params.options.items()
            if getattr(o, "cache", None) is not None]


def scaled_overrides(params: Params, values: dict) -> dict:
    """The ``--set`` overrides the controls stand for.

    A positive average request rate scales the whole traffic profile
    (:func:`costlib.lessons.widgets.traffic_scale_overrides`), as in the lessons; any other value
    is passed as it is, so the page shows the error ``--set workload.avg_rps=<value>`` gives.
    """
    out = {}
    for key, value in values.items():
        if key == AVG_RPS and value > 0:
            out.update(traffic_scale_overrides(params, value))
        else:
            out[key] = value
    return out


def set_flags(overrides: dict) -> str:
    """The overrides as the CLI's ``--set key=value`` flags (``%.6g`` values)."""
    return " ".join(f"--set {k}={v:.6g}" for k, v in overrides.items())


def totals_table(result: Estimate) -> str:
    """The monthly total per option as HTML, the CLI's figures (``,.2f`` USD), cheapest first.

    Each total sits in ``<td class="total" data-option="NAME">``.
    """
    rows = sorted(result.options, key=lambda o: o.monthly_usd)
    body = "".join(
        f"<tr><td class='option'>{html.escape(o.name)}</td><td>{o.kind}</td>"
        f"<td class='total' data-option='{html.escape(o.name)}' style='text-align:right'>"
        f"{o.monthly_usd:,.2f}</td>"
        f"<td style='text-align:right'>{o.usd_per_1k_tokens:.6f}</td></tr>"
        for o in rows)
    return ("<style>table.totals td, table.totals th {padding: 0 0.8em}</style>"
            "<table class='totals'><thead><tr><th>option</th><th>kind</th>"
            "<th>usd per month</th><th>usd per 1k tokens</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def breakeven_sentence(params: Params, result: Estimate) -> tuple[str, object]:
    """The lesson 09 break-even for these params: a sentence and its chart (or ``None``).

    The tie between self-hosting and a managed API (:func:`costlib.lessons.verdict.tie_breakeven`)
    when the file has both; for a file with a response cache and no such tie, the hit rate at
    which the cache stops paying (:func:`costlib.lessons.verdict.cache_breakeven`).
    """
    b = verdict.tie_breakeven(params, result)
    if b is None and cache_keys(params):
        router, behind, rate = verdict.cache_breakeven(params)
        if rate is None:
            return f"{router} is cheaper than {behind} at every cache hit rate from 0 to 99 %.", None
        return (f"{router} costs less than {behind} alone once more than {rate:.1%} of the "
                "requests hit the cache.", None)
    return verdict.tie_sentence(b, result), verdict.tie_chart(b)


def _output(cls: str = "qa-chart") -> widgets.Output:
    out = widgets.Output()
    out.add_class(cls)
    return out


def _html(cls: str) -> widgets.HTML:
    w = widgets.HTML()
    w.add_class(cls)
    return w


@dataclass
class ExplorerPage:
    """The page's widgets and state.

    Attributes
    ----------
    source : ipywidgets.Dropdown
        ``(label, path)`` of every params file; an accepted upload is added to it.
    upload : ipywidgets.FileUpload
        A YAML params file.
    controls : dict
        Params key -> FloatText: ``workload.avg_rps`` and, when the file has a response cache,
        each cache's hit rate (absent otherwise: it would change nothing).
    error : ipywidgets.HTML
        The CLI's one-line error, or empty.
    totals : ipywidgets.HTML
        :func:`totals_table` of :attr:`result`; a note instead while a control is invalid.
    params, result, path, shown
        The params in force (with the controls applied), their estimate, the file and its name.
    """

    source: widgets.Dropdown
    upload: widgets.FileUpload
    box: widgets.VBox
    error: widgets.HTML = field(default_factory=lambda: _html("qa-error"))
    title: widgets.HTML = field(default_factory=lambda: _html("qa-title"))
    params_text: widgets.HTML = field(default_factory=lambda: _html("qa-params"))
    command: widgets.HTML = field(default_factory=lambda: _html("qa-command"))
    totals: widgets.HTML = field(default_factory=lambda: _html("qa-totals"))
    breakeven: widgets.HTML = field(default_factory=lambda: _html("qa-breakeven"))
    category: widgets.Dropdown = field(
        default_factory=lambda: widgets.Dropdown(description="category"))
    bill_chart: widgets.Output = field(default_factory=_output)
    category_chart: widgets.Output = field(default_factory=_output)
    breakeven_chart: widgets.Output = field(default_factory=_output)
    controls_box: widgets.VBox = field(default_factory=widgets.VBox)
    controls: dict = field(default_factory=dict)
    path: Path | None = None
    shown: str = ""
    base: Params | None = None
    params: Params | None = None
    result: Estimate | None = None
    _quiet: bool = False
    _tmp: tempfile.TemporaryDirectory = field(default_factory=tempfile.TemporaryDirectory)

    def _ipython_display_(self):  # pragma: no cover - display hook for notebooks
        from IPython.display import display

        display(self.box)

    # -- the file

    def open(self, path: Path, shown: str) -> bool:
        """Read ``path`` (called ``shown``), rebuild the controls and price it; False on error.

        On error the page keeps the file it had and shows the CLI's line.
        """
        try:
            base = load_params(path)
        except CostlibError as exc:
            self.error.value = _error_html(cli_error(exc, path, shown))
            return False
        self.path, self.shown, self.base = Path(path), shown, base
        self.title.value = (f"<h3>{html.escape(base.title or shown)}</h3>"
                            f"<p>params file: <code>{html.escape(shown)}</code></p>")
        text = Path(path).read_text(encoding="utf-8")
        self.params_text.value = (f"<details><summary>the params in force ({html.escape(shown)})"
                                  f"</summary><pre>{html.escape(text)}</pre></details>")
        self.controls = self._controls(base)
        self.controls_box.children = list(self.controls.values()) or [
            widgets.HTML("(no control for this file)")]
        if not cache_keys(base):
            self.controls_box.children = [*self.controls_box.children, widgets.HTML(
                "<i>no response cache in this params file: no cache hit rate to set</i>")]
        self.recompute()
        return True

    def _controls(self, params: Params) -> dict:
        out = {AVG_RPS: widgets.FloatText(value=params.workload.avg_rps,
                                          description="average requests/s (traffic shape kept)")}
        for key in cache_keys(params):
            name = key.split(".")[1]
            out[key] = widgets.FloatText(value=params.options[name].cache.hit_fraction,
                                         step=0.05, description=f"cache hit rate, {name} (0-1)")
        for key, ctl in out.items():
            ctl.add_class("qa-control")
            ctl.add_class("qa-" + key.replace(".", "-").replace("_", "-"))
            ctl.style.description_width = "22rem"
            ctl.layout.width = "34rem"
            ctl.observe(self.recompute, names="value")
        return out

    def on_source(self, change) -> None:
        label = next(lbl for lbl, p in self.source.options if p == change["new"])
        self.open(change["new"], label)

    def on_upload(self, change) -> None:
        """Save the uploaded file under its own name and open it; a bad file only shows the error."""
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = Path(item["name"]).name or "upload.yaml"
        path = Path(self._tmp.name) / name
        path.write_bytes(bytes(item["content"]))
        if self.open(path, name):
            label = f"uploaded: {name}"
            options = [o for o in self.source.options if o[0] != label]
            self.source.unobserve(self.on_source, names="value")
            try:
                self.source.options = [*options, (label, path)]
                self.source.value = path
            finally:
                self.source.observe(self.on_source, names="value")

    # -- the numbers

    def overrides(self) -> dict:
        """The ``--set`` overrides of the controls that differ from the file's values."""
        moved = {}
        for key, ctl in self.controls.items():
            start = (self.base.workload.avg_rps if key == AVG_RPS
                     else self.base.options[key.split(".")[1]].cache.hit_fraction)
            if float(ctl.value) != start:
                moved[key] = float(ctl.value)
        return scaled_overrides(self.base, moved)

    def recompute(self, *_) -> None:
        """Re-read the file with the controls' overrides, price it, redraw; the CLI's error if bad."""
        overrides = self.overrides()
        flags = set_flags(overrides)
        self.command.value = (f"<p>the same as: <code>costlib estimate {html.escape(self.shown)}"
                              f"{' ' + flags if flags else ''}</code></p>")
        try:
            params = load_params(self.path, overrides)
            result = estimate(params)
        except CostlibError as exc:
            self.error.value = _error_html(cli_error(exc, self.path, self.shown))
            self.totals.value = "<p><i>no totals: fix the value above</i></p>"
            for out in (self.bill_chart, self.category_chart, self.breakeven_chart):
                out.outputs = ()
            self.breakeven.value = ""
            return
        self.error.value = ""
        self.params, self.result = params, result
        self.totals.value = totals_table(result)
        frame = result.to_frame()
        draw(self.bill_chart, charts.monthly_cost_by_option(frame))
        cats = list(dict.fromkeys(frame["category"]))
        keep = self.category.value if self.category.value in cats else cats[0]
        self._quiet = True
        try:
            self.category.options, self.category.value = cats, keep
        finally:
            self._quiet = False
        self.redraw_category()
        sentence, chart = breakeven_sentence(params, result)
        self.breakeven.value = f"<p>{html.escape(sentence)}</p>"
        if chart is None:
            self.breakeven_chart.outputs = ()
        else:
            draw(self.breakeven_chart, chart)

    def redraw_category(self, *_) -> None:
        """The chosen category's line items per option."""
        if not self._quiet and self.result is not None and self.category.value:
            draw(self.category_chart,
                 charts.category_items(self.result.to_frame(), self.category.value))


def _error_html(line: str) -> str:
    return f"<p class='error-line' style='color:#b00020'>{html.escape(line)}</p>"


def explorer_page(path: str | Path | None = None, renderer: str = "svg") -> ExplorerPage:
    """Build the page on ``path`` (default: the first of ``params/*.yaml``).

    Charts use ``renderer`` (:func:`costlib.lessons.charts.use_renderer`): inline SVG by default,
    drawn in the kernel, so the page needs no JavaScript from anywhere but the local server.
    """
    charts.use_renderer(renderer)
    files = params_files()
    start = Path(path) if path is not None else files[0][1]
    if start not in [p for _, p in files]:
        files.append((str(start), start))
    source = widgets.Dropdown(options=files, value=start, description="params file",
                              layout=widgets.Layout(width="30rem"))
    source.add_class("qa-source")
    upload = widgets.FileUpload(accept=".yaml,.yml", multiple=False,
                                description="upload a params file")
    upload.add_class("qa-upload")
    page = ExplorerPage(source, upload, widgets.VBox())
    page.box = widgets.VBox([
        widgets.HBox([source, upload]), page.error, page.title, page.params_text,
        widgets.HTML("<h4>controls</h4>"), page.controls_box, page.command,
        widgets.HTML("<h4>monthly total per option (USD)</h4>"), page.totals,
        widgets.HTML("<h4>the bill by category</h4>"), page.bill_chart,
        widgets.HTML("<h4>one category, item by item</h4>"), page.category, page.category_chart,
        widgets.HTML("<h4>break-even</h4>"), page.breakeven, page.breakeven_chart,
    ])
    page.open(start, next(lbl for lbl, p in files if p == start))
    source.observe(page.on_source, names="value")
    upload.observe(page.on_upload, names="value")
    page.category.observe(page.redraw_category, names="value")
    return page


__all__ = ["AVG_RPS", "ExplorerPage", "explorer_page", "cli_error", "params_files", "cache_keys",
           "scaled_overrides", "set_flags", "totals_table", "breakeven_sentence"]
