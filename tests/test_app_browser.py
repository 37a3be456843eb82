"""The explorer page (``make app``) driven in a real browser, the way a person uses it.

Voila serves ``app/explorer.ipynb`` on a free local port; Playwright drives the Debian Chromium
package (Playwright's own browser download does not work on these machines). Every request the
page makes that is not to the local server is blocked and recorded: the page must work offline.

Oracles: each total on the page is ``estimate(load_params(FILE, overrides)).option(NAME)``
through the Python API, formatted as ``costlib estimate`` prints it (``,.2f``), with the
overrides a control stands for written out by hand below; the error line is what the CLI
prints for the same broken file, run as a subprocess.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params
from costlib.core.paths import PARAMS_DIR, PROJ_ROOT
from costlib.lessons.app import explorer_page

NO_BROWSER = "no Chromium: apt-get install chromium (Debian) to run the browser test"
CHROMIUM = shutil.which("chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

needs_browser = pytest.mark.skipif(CHROMIUM is None or sync_playwright is None, reason=NO_BROWSER)

SCENARIO_C = "scenario_c_cached_rag.yaml"
ROUTER = "cache_then_llama31_8b"
HIT = f"options.{ROUTER}.cache.hit_fraction"
TIMEOUT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    """Voila on a free port, with the checkout under test first on the kernel's path; stopped
    at the end (terminate, then kill), also when the test fails."""
    port = _free_port()
    voila = shutil.which("voila", path=os.path.dirname(sys.executable)) or "voila"
    env = {**os.environ, "JUPYTER_PATH": str(PROJ_ROOT / "app" / "jupyter"), "PYTHONPATH": os.pathsep.join(
        [str(PROJ_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen(
        [voila, str(PROJ_ROOT / "app" / "explorer.ipynb"), "--template=costlib",
         "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--strip_sources=True"],
        cwd=PROJ_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"voila did not start on port {port} (exit {proc.poll()})")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _expected(path, overrides=None) -> dict:
    result = estimate(load_params(path, overrides))
    return {o.name: _money(o.monthly_usd) for o in result.options}


def _page_totals(page) -> dict:
    cells = page.locator(".qa-totals td.total")
    return {cells.nth(i).get_attribute("data-option"): cells.nth(i).inner_text().strip()
            for i in range(cells.count())}


def _wait_totals(page, expected: dict) -> dict:
    """Wait (at most 10 s) until the page's totals are ``expected``; return what it shows."""
    deadline = time.monotonic() + 10
    while True:
        shown = _page_totals(page)
        if shown == expected or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(100)


def _set(page, key: str, value: float) -> None:
    box = page.locator(f".qa-{key.replace('.', '-').replace('_', '-')} input")
    box.fill(str(value))
    box.press("Enter")


@needs_browser
def test_page_totals_follow_controls_and_a_broken_upload_shows_the_cli_error(server, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("workload:\n  avg_rps: [1\n", encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "costlib.cli", "estimate", "broken.yaml"],
                         cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(PROJ_ROOT)})
    assert cli.returncode == 2
    error_line = cli.stderr.strip()
    assert error_line.startswith("costlib: error: broken.yaml: not valid YAML")

    outside = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1800})

            def route(r):
                if r.request.url.startswith(server) or r.request.url.startswith("data:"):
                    return r.continue_()
                outside.append(r.request.url)
                return r.abort()

            page.route("**/*", route)
            page.goto(server, timeout=TIMEOUT_MS)
            page.wait_for_selector(".qa-totals td.total", timeout=TIMEOUT_MS)
            # nothing off the server is even referenced (a lazy import would escape `route`)
            assert re.findall(r"""(?:src|href)=["']https?://[^"']*|import\(["']https?://[^"']*""",
                              page.content()) == []

            # the first file of params/ as it opens: the totals `costlib estimate` gives
            first = sorted(PARAMS_DIR.glob("*.yaml"))[0]
            assert _wait_totals(page, _expected(first)) == _expected(first)
            assert page.locator(".qa-chart svg, .qa-chart img").count() >= 1

            # scenario C, picked in the file list
            page.locator(".qa-source select").select_option(label=f"params/{SCENARIO_C}")
            path = PARAMS_DIR / SCENARIO_C
            assert _wait_totals(page, _expected(path)) == _expected(path)

            # average rps 2 -> 4: the profile scales with it, so its peak of 4.5 becomes 9
            # (4.5 x 4 / 2); `costlib estimate ... --set workload.avg_rps=4 --set
            # workload.traffic.peak_rps=9`, which the page also prints
            _set(page, "workload.avg_rps", 4)
            want = _expected(path, {"workload.avg_rps": 4.0, "workload.traffic.peak_rps": 9.0})
            assert want != _expected(path)
            assert _wait_totals(page, want) == want
            assert "--set workload.avg_rps=4 --set workload.traffic.peak_rps=9" in (
                page.locator(".qa-command").inner_text())

            # cache hit rate 0.8 -> 0.5, the traffic kept at 4
            _set(page, HIT, 0.5)
            want = _expected(path, {"workload.avg_rps": 4.0, "workload.traffic.peak_rps": 9.0,
                                    HIT: 0.5})
            assert _wait_totals(page, want) == want

            # a broken file: the CLI's line, and the page still prices scenario C
            with page.expect_file_chooser() as chooser:
                page.locator(".qa-upload").click()
            chooser.value.set_files(str(broken))
            page.wait_for_selector(".qa-error .error-line", timeout=10_000)
            assert page.locator(".qa-error .error-line").inner_text().strip() == error_line
            _set(page, HIT, 0.9)
            want = _expected(path, {"workload.avg_rps": 4.0, "workload.traffic.peak_rps": 9.0,
                                    HIT: 0.9})
            assert _wait_totals(page, want) == want

            # a bad value: the line `costlib estimate ... --set HIT=1.5` prints, no totals
            _set(page, HIT, 1.5)
            page.wait_for_selector(".qa-error .error-line", timeout=10_000)
            assert page.locator(".qa-error .error-line").inner_text().strip() == (
                f"costlib: error: params/{SCENARIO_C}: {HIT}: Input should be less than or "
                "equal to 1 (got 1.5)")
            assert _page_totals(page) == {}
            _set(page, HIT, 0.9)
            assert _wait_totals(page, want) == want
            page.wait_for_selector(".qa-breakeven p", timeout=10_000)
            page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "explorer.png").stat().st_size > 0
    assert outside == [], f"the page asked for assets off the local server: {outside}"


# the same page in plain Python (no browser): the handlers Voila runs in its kernel


def test_page_offers_a_cache_hit_rate_only_for_a_file_with_a_response_cache():
    page = explorer_page(PARAMS_DIR / "default.yaml")
    assert list(page.controls) == ["workload.avg_rps"]
    page.source.value = PARAMS_DIR / SCENARIO_C
    assert list(page.controls) == ["workload.avg_rps", HIT]
    assert page.controls[HIT].value == 0.8      # the mean of the file's beta distribution


def test_page_scales_the_traffic_profile_with_the_average_rate():
    page = explorer_page(PARAMS_DIR / SCENARIO_C)
    page.controls["workload.avg_rps"].value = 3.0
    # peak 4.5 at an average of 2: 4.5 x 3 / 2 = 6.75
    assert page.overrides() == {"workload.avg_rps": 3.0, "workload.traffic.peak_rps": 6.75}
    assert page.result.workload["requests_per_month"] == pytest.approx(3.0 * 730 * 3600)


def test_a_broken_upload_keeps_the_open_file_and_its_totals():
    page = explorer_page(PARAMS_DIR / SCENARIO_C)
    before = page.totals.value
    page.on_upload({"new": ({"name": "broken.yaml", "content": memoryview(b"a: [1\n")},)})
    assert "costlib: error: broken.yaml: not valid YAML" in page.error.value
    assert page.shown == f"params/{SCENARIO_C}" and page.totals.value == before
    page.controls[HIT].value = 0.5              # the page still works, and the error is gone
    assert page.error.value == "" and page.totals.value != before


def test_a_good_upload_is_added_to_the_file_list_and_priced():
    text = (PARAMS_DIR / SCENARIO_C).read_text(encoding="utf-8")
    page = explorer_page(PARAMS_DIR / "default.yaml")
    page.on_upload({"new": ({"name": "mine.yaml", "content": memoryview(text.encode())},)})
    assert page.error.value == "" and page.shown == "mine.yaml"
    assert page.source.label == "uploaded: mine.yaml"
    assert _page_money(page) == _expected(PARAMS_DIR / SCENARIO_C)


def _page_money(page) -> dict:
    import re

    return dict(re.findall(r"data-option='([^']+)'[^>]*>([^<]+)<", page.totals.value))
