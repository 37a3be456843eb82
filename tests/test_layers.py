"""The package's folders are its layers, and imports point down only.

``core <- tables <- formulas <- bill <- whatif <- lessons <- cli``: a module may import from its own
layer or any layer below it, never above, and no two modules import each other (directly or
through others), not even inside a function. ``formulas`` holds pure models: it may read hardware
facts from ``tables`` but never prices, pydantic or line items.

Imports are read with :mod:`ast`, so an import hidden inside a function counts too; only imports
under ``if TYPE_CHECKING:`` (for annotations, never run) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "costlib"

LAYERS = {"core": 0, "tables": 1, "formulas": 2, "bill": 3, "whatif": 4, "lessons": 5, "cli": 6}
"""Rank of each top-level folder. ``cli`` sits on ``lessons``: the report runner executes the
lessons and writes the one-page summary they build; nothing in ``lessons`` imports ``cli``."""

FORMULAS_MAY_NOT_IMPORT = ("pydantic", "costlib.tables.prices", "costlib.tables.pricelist",
                           "costlib.bill")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    type_only = {id(n) for block in ast.walk(tree) if _is_type_checking_block(block)
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            # `from costlib.x import y` may name a submodule y
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                if _path_of(candidate) is not None:
                    out.add(candidate)
    return out


def _is_type_checking_block(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:``: imports for annotations only, never run."""
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING")


def _path_of(module: str) -> Path | None:
    if not module.startswith("costlib"):
        return None
    rel = Path(*module.split("."))
    for path in (PACKAGE.parent / rel.with_suffix(".py"), PACKAGE.parent / rel / "__init__.py"):
        if path.is_file():
            return path
    return None


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {m: {i for i in _imports(p) if i.startswith("costlib.") and i in MODULES}
         for m, p in MODULES.items()}


def test_every_module_lives_in_a_layer_folder():
    stray = [m for m in MODULES if m != "costlib" and _layer(m) is None
             and m not in ("costlib.__main__",)]
    assert stray == [], f"modules outside the layer folders {sorted(LAYERS)}: {stray}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m)))
def test_imports_point_down_only(module):
    mine = _layer(module)
    bad = []
    for target in GRAPH[module]:
        theirs = _layer(target)
        if theirs is None:
            continue
        if LAYERS[theirs] > LAYERS[mine] or (LAYERS[theirs] == LAYERS[mine] and theirs != mine):
            bad.append(f"{target} ({theirs})")
    assert bad == [], f"{module} ({mine}) imports upward or sideways: {', '.join(sorted(bad))}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "formulas"))
def test_formulas_import_no_pydantic_prices_or_line_items(module):
    bad = [i for i in _imports(MODULES[module])
           if any(i == f or i.startswith(f + ".") for f in FORMULAS_MAY_NOT_IMPORT)]
    assert bad == [], f"{module} is a pure formula module but imports {bad}"


def test_no_import_cycles():
    # Tarjan's strongly connected components over the module graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            # a package importing its own submodules (``__init__`` re-exports) is not a cycle
            if w.startswith(v + "."):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def test_the_layer_test_sees_an_upward_import(tmp_path):
    """The checker itself can fail: a formulas module importing the bill is caught."""
    fake = tmp_path / "costlib" / "formulas" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from costlib.bill.estimate import estimate\n")
    tree = ast.parse(fake.read_text())
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert LAYERS[_layer("costlib.bill.estimate")] > LAYERS[_layer("costlib.formulas.bad")]
    assert "costlib.bill.estimate" in names
