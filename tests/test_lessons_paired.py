"""Each notebook is paired with a ``py:percent`` text form, and the two agree cell by cell.

A lesson's change then reads as a diff of ``notebooks/NN_name.py``. Open a notebook in JupyterLab
with jupytext installed and both files are saved together (``notebooks/jupytext.toml``); after
editing one by hand, run ``jupytext --sync notebooks/NN_name.ipynb``.
"""

from __future__ import annotations

import tomllib

import jupytext
import nbformat
import pytest

from costlib.core.paths import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
PAIRING = "ipynb,py:percent"


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    """What must agree: each cell's type, source and tags."""
    return [(c.cell_type, c.source.strip("\n"), tuple(c.get("metadata", {}).get("tags", [])))
            for c in nb.cells]


def disagreements(ipynb_nb, py_nb) -> list[str]:
    """Human-readable differences between two notebooks' cells (empty when they agree)."""
    a, b = _cells(ipynb_nb), _cells(py_nb)
    out = []
    if len(a) != len(b):
        out.append(f"{len(a)} cells in the .ipynb, {len(b)} in the .py")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            out.append(f"cell {i}: .ipynb {x[0]} {x[2]} {x[1][:60]!r} != .py {y[0]} {y[2]} "
                       f"{y[1][:60]!r}")
    return out


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_and_its_text_form_agree(path):
    py = path.with_suffix(".py")
    assert py.is_file(), f"{path.name} has no paired {py.name}: jupytext --sync {path.name}"
    found = disagreements(jupytext.read(path), jupytext.read(py))
    assert found == [], f"{path.name} and {py.name} disagree: " + "; ".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_metadata_declares_the_pairing(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("jupytext", {}).get("formats") == PAIRING, path.name
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_notebooks_folder_pairs_every_notebook():
    config = tomllib.loads((NOTEBOOKS_DIR / "jupytext.toml").read_text())
    assert config["formats"] == PAIRING


def test_every_text_form_has_its_notebook():
    for py in NOTEBOOKS_DIR.glob("*.py"):
        assert py.with_suffix(".ipynb").is_file(), py.name


def test_the_check_sees_an_edited_cell(tmp_path):
    """The comparison itself can fail: one changed line in the .py is reported."""
    path = NOTEBOOKS[0]
    text = path.with_suffix(".py").read_text()
    edited = tmp_path / "edited.py"
    edited.write_text(text.replace("params_path =", "params_path  =", 1))
    found = disagreements(jupytext.read(path), jupytext.read(edited))
    assert len(found) == 1 and "cell" in found[0]
