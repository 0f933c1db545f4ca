"""Imports run one way: handlers and feature jobs -> screens -> services -> runtime/db -> config.

The checks read the source (ast), so a deferred import inside a function counts as much as one
at the top of a module: a cycle hidden in a function is still a cycle in the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# Lowest first. A unit is a package under fitclub (db, runtime, services...) or a top-level
# module (config, ui...); a module may import its own unit or any unit of a lower layer.
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(units) for units in (
    {"config", "logs"},
    {"locales"},
    {"db"},
    {"runtime"},
    {"services"},
    {"callbacks", "callback_codec", "charts"},
    {"screens"},
    {"flows", "commands", "deps", "access", "routes", "ui", "notify"},
    {"handlers", "jobs"},
    {"app", "demo_data", "devdb", "demo", "cli"},
))
# Registries that import every module of their package, on purpose.
REGISTRIES = frozenset({"fitclub.handlers", "fitclub.jobs.kinds"})


def modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the fitclub package under src, by dotted name."""
    found = {}
    for path in sorted((src / "fitclub").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Each fitclub module and the fitclub modules it imports (anywhere in its code)."""
    known = modules(src)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.split(".")[0] == "fitclub")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source.split(".")[0] != "fitclub":
                    continue
                for alias in node.names:
                    child = f"{source}.{alias.name}"
                    targets.add(child if child in known else source)
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def unit_of(module: str) -> str:
    """fitclub.services.booking -> services; fitclub.ui -> ui."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "fitclub"


def unit_graph(graph: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """The module graph collapsed to units (edges within a unit dropped)."""
    units: dict[str, set[str]] = {}
    for source, targets in graph.items():
        edges = units.setdefault(unit_of(source), set())
        edges.update(unit_of(t) for t in targets if unit_of(t) != unit_of(source))
    return units


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def layer_of(unit: str) -> int:
    for number, units in enumerate(LAYERS):
        if unit in units:
            return number
    raise KeyError(f"{unit} is in no layer: add it to LAYERS in {__file__}")


def upward_imports(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Imports from a lower layer to a higher one, as 'a -> b' lines."""
    return sorted(f"{source} -> {target}" for source, targets in graph.items()
                  for target in targets
                  if unit_of(source) != "fitclub" and unit_of(target) != "fitclub"
                  and layer_of(unit_of(target)) > layer_of(unit_of(source)))


def feature_of(module: str, package: str) -> str | None:
    """fitclub.handlers.members.search -> members: a feature is one module or one package."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == package else None


def sibling_imports(graph: Mapping[str, Iterable[str]], package: str) -> list[str]:
    """A feature of a package importing another feature of it (registries aside); the modules
    of one feature package may share each other's code."""
    return sorted(f"{source} -> {target}" for source, targets in graph.items()
                  if feature_of(source, package) and source not in REGISTRIES
                  for target in targets
                  if feature_of(target, package) not in (None, feature_of(source, package)))


# -- the project's own source ------------------------------------------------------------------

@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_packages_form_no_cycle(graph):
    assert cycles(unit_graph(graph)) == []


def test_modules_form_no_cycle(graph):
    assert cycles(graph) == []


def test_every_unit_has_a_layer(graph):
    missing = {unit_of(m) for m in graph} - {"fitclub"} - set().union(*LAYERS)
    assert missing == set()


def test_imports_run_down_the_layers(graph):
    assert upward_imports(graph) == []


@pytest.mark.parametrize("package", ["handlers", "jobs"])
def test_no_feature_module_imports_another_of_its_package(graph, package):
    assert sibling_imports(graph, package) == []


def test_handlers_and_feature_jobs_do_not_import_each_other(graph):
    crossing = sorted(f"{s} -> {t}" for s, targets in graph.items() for t in targets
                      if {unit_of(s), unit_of(t)} == {"handlers", "jobs"})
    assert crossing == []


def test_services_import_nothing_that_talks_to_people(graph):
    above = {"handlers", "jobs", "screens", "ui", "flows", "access", "routes", "notify"}
    assert sorted(f"{s} -> {t}" for s, targets in graph.items() if unit_of(s) == "services"
                  for t in targets if unit_of(t) in above) == []


# -- the checks themselves: each one fails on what it exists to catch ---------------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "fitclub" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_cycle_between_packages_is_found(tmp_path):
    src = _tree(tmp_path, {
        "__init__.py": "",
        "services/__init__.py": "",
        "services/booking.py": "from fitclub.runtime import jobs\n",
        "runtime/__init__.py": "",
        "runtime/jobs.py": "def later():\n    from fitclub.services import booking\n",
    })
    found = import_graph(src)
    assert cycles(unit_graph(found)) == [["runtime", "services"]]
    assert cycles(found) == [["fitclub.runtime.jobs", "fitclub.services.booking"]]
    assert upward_imports(found) == ["fitclub.runtime.jobs -> fitclub.services.booking"]


def test_the_modules_of_one_feature_package_may_share_code(tmp_path):
    src = _tree(tmp_path, {
        "__init__.py": "",
        "handlers/__init__.py": "from fitclub.handlers import members\n",
        "handlers/members/__init__.py": "from fitclub.handlers.members import card\n",
        "handlers/members/common.py": "",
        "handlers/members/card.py": "from fitclub.handlers.members import common\n",
        "handlers/menu.py": "from fitclub.handlers.members import common\n",
    })
    assert sibling_imports(import_graph(src), "handlers") == [
        "fitclub.handlers.menu -> fitclub.handlers.members.common"]


def test_a_handler_importing_another_handler_is_found(tmp_path):
    src = _tree(tmp_path, {
        "__init__.py": "",
        "handlers/__init__.py": "from fitclub.handlers import card, menu\n",
        "handlers/card.py": "",
        "handlers/menu.py": "from .card import send_card\n",
    })
    assert sibling_imports(import_graph(src), "handlers") == [
        "fitclub.handlers.menu -> fitclub.handlers.card"]


def test_a_service_importing_a_screen_is_found(tmp_path):
    src = _tree(tmp_path, {
        "__init__.py": "",
        "services/__init__.py": "",
        "services/booking.py": "from fitclub.screens import bookings\n",
        "screens/__init__.py": "",
        "screens/bookings.py": "",
    })
    assert upward_imports(import_graph(src)) == [
        "fitclub.services.booking -> fitclub.screens.bookings"]
