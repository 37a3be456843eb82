"""Project hygiene: what the README promises about layout, dependencies and notebooks."""

import json
import re
import subprocess
import tomllib

import yaml

from costlib.core.paths import NOTEBOOKS_DIR, PROJ_ROOT


def test_environment_yml_delegates_to_pyproject():
    """environment.yml installs exactly what pyproject.toml declares, by pointing pip at it.

    Any other package listed there could drift from pyproject.toml, so none is allowed beyond
    the interpreter, pip and make.
    """
    env = yaml.safe_load((PROJ_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [["-e .[test]"]]
    conda_names = {re.split(r"[=<>! ]", d)[0] for d in deps if isinstance(d, str)}
    assert conda_names <= {"python", "pip", "make"}
    pyproject = tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text())
    assert "test" in pyproject["project"]["optional-dependencies"]
    python_pin = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    assert pyproject["project"]["requires-python"] == ">=3.11" and python_pin == "python=3.11"


def test_dependencies_are_pinned_for_reproducible_reports():
    pyproject = tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text())
    deps = pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["test"]
    unpinned = [d for d in deps if "==" not in d]
    assert unpinned == []


def _notebooks():
    paths = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    assert paths, "no notebooks found"
    return paths


def test_source_notebooks_carry_no_outputs():
    for path in _notebooks():
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"{path.name} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} has execution counts"


def test_each_notebook_has_one_parameters_cell_with_params_path():
    for path in _notebooks():
        nb = json.loads(path.read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, path.name
        source = "".join(tagged[0]["source"])
        assert "params_path =" in source and "chart_renderer =" in source


def test_every_notebook_has_a_committed_default_report():
    for path in _notebooks():
        assert (PROJ_ROOT / "outputs" / "default" / path.name).is_file(), path.name
        assert (PROJ_ROOT / "outputs" / "default" / path.with_suffix(".html").name).is_file()


def test_committed_reports_render_charts_as_inline_svg_not_cdn_javascript():
    for path in (PROJ_ROOT / "outputs").glob("*/*.ipynb"):
        text = path.read_text()
        assert "cdn.jsdelivr.net" not in text, path
        assert "image/svg+xml" in text, path


def test_make_help_lists_the_readme_commands():
    out = subprocess.run(["make", "-s", "help"], cwd=PROJ_ROOT, capture_output=True, text=True,
                         check=True).stdout
    for target in ("report", "test", "lab"):
        assert re.search(rf"^\s+{target}\s", out, re.M), target


def test_readme_gives_the_two_commands():
    readme = (PROJ_ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme
