"""A fast start: the layers below the bill import no pandas, and no genai-prices.

Pricing a report needs numpy and pydantic, not pandas (about 0.2 s to import here) nor the
genai-prices package (about 0.1 s with its HTTP client). Every module of ``core`` and
``formulas``, and the ``tables`` modules a report prices with, are imported in a fresh process
and ``sys.modules`` is read. Left out, on purpose: ``tables.history`` (the pandas views of the
lesson on prices) and ``tables.pricelist`` (the AWS Price List refresh), which a report never
imports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "costlib"

NOT_ON_THE_ESTIMATE_PATH = {"costlib.tables.history", "costlib.tables.pricelist"}


def _modules(folder: str) -> list[str]:
    out = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in NOT_ON_THE_ESTIMATE_PATH:
            out.append(name)
    return out


LOWER_LAYERS = _modules("core") + _modules("tables") + _modules("formulas")


def test_the_lower_layers_were_found():
    assert {"costlib.tables.prices", "costlib.formulas.traffic",
            "costlib.formulas.throughput.serving", "costlib.core.cache"} <= set(LOWER_LAYERS)


@pytest.mark.parametrize("forbidden", ["pandas", "genai_prices"])
def test_lower_layers_import_no_pandas_or_genai_prices(forbidden):
    code = (f"import importlib, sys\n"
            f"for m in {LOWER_LAYERS!r}:\n"
            f"    importlib.import_module(m)\n"
            f"    assert {forbidden!r} not in sys.modules, m + ' imports {forbidden}'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]
