"""The floor of a report build: the runner executing notebooks that only import.

For each notebook in ``notebooks/`` an import-only copy is written to a temporary folder: its
parameters cell and one cell with every ``import`` of the notebook, nothing else. The report
runner (:func:`costlib.cli.report.run_reports`: the same papermill call, kernel, pool, scrub,
HTML export and one-page summary) builds reports from those copies, in sequence and with the
pool; what is left is the cost of starting kernels and importing, which no change to the
notebooks' own work can remove. With ``--full`` the real report is built the same way, in the
same run, beside it (into a temporary folder: ``outputs/`` is not touched), and the ratio
printed. Wall time on a shared machine varies from run to run: ``--repeat`` runs every case
that many times, interleaved, and the least is the figure to compare; CPU time (the runner and
its kernels) is steadier. Nothing here passes or fails.

    python bench/report_floor.py                       # params/default.yaml, jobs 1 and 2
    python bench/report_floor.py --full --repeat 3     # and the real report, with the ratio
    python bench/report_floor.py --full params/*.yaml  # every params file
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def import_only_notebook(source: Path, target: Path) -> Path:
    """Write ``source`` with only its parameters cell and one cell of its imports."""
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    params = [c for c in nb.cells
              if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    imports: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell in params:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: not an import anyway
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                line = ast.get_source_segment(cell.source, node)
                if line not in imports:
                    imports.append(line)
    nb.cells = params + [nbformat.v4.new_code_cell("\n".join(imports))]
    nbformat.write(nb, str(target))
    return target


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def time_build(priced, notebooks, jobs: int, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (this process and its kernels) to build the reports of ``priced``
    from ``notebooks`` with ``jobs`` at once."""
    from costlib.cli.report import run_reports

    shutil.rmtree(out, ignore_errors=True)
    t0, c0 = time.perf_counter(), _cpu()
    reports = run_reports(priced, out, notebooks, jobs=jobs)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    failed = [r.error for r in reports if r.error]
    if failed:
        raise SystemExit("\n".join(failed))
    return wall, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("params", nargs="*", default=[str(ROOT / "params" / "default.yaml")])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="pool sizes to time")
    ap.add_argument("--full", action="store_true", help="also time the real report")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each case, interleaved")
    args = ap.parse_args(argv)

    from costlib.bill.estimate import estimate
    from costlib.bill.params import load_params
    from costlib.cli.report import notebook_paths

    priced = [(Path(p), params, estimate(params)) for p in args.params
              for params in [load_params(Path(p))]]
    notebooks = notebook_paths()
    cases = [(kind, jobs) for jobs in args.jobs for kind in (["floor", "report"] if args.full
                                                             else ["floor"])]
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="costlib-floor-") as tmp:
        tmp = Path(tmp)
        (tmp / "nbs").mkdir()
        floor_nbs = [import_only_notebook(nb, tmp / "nbs" / nb.name) for nb in notebooks]
        n = len(priced) * len(notebooks)
        print(f"{len(priced)} params file(s) x {len(notebooks)} notebooks = {n} executions; "
              f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
        for _ in range(args.repeat):
            for kind, jobs in cases:
                nbs = floor_nbs if kind == "floor" else notebooks
                wall, cpu = time_build(priced, nbs, jobs, tmp / f"{kind}-{jobs}")
                runs[kind, jobs].append((wall, cpu))
                print(f"  {kind:<6} jobs {jobs}: {wall:6.1f} s wall, {cpu:6.1f} s cpu", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'case':<6} {'jobs':>4} {'min s':>7} {'median s':>8} {'cpu s':>7}"
          + (f" {'min/floor':>9}" if args.full else ""))
    for kind, jobs in cases:
        walls = [w for w, _ in runs[kind, jobs]]
        line = (f"{kind:<6} {jobs:>4} {min(walls):7.1f} {statistics.median(walls):8.1f} "
                f"{statistics.median(c for _, c in runs[kind, jobs]):7.1f}")
        if args.full:
            floor = min(w for w, _ in runs["floor", jobs])
            line += f" {min(walls) / floor:9.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
