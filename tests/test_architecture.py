"""The package's layers, read from its source: who imports whom, and what each may know.

streamseg is layered bottom to top: ``params``, ``errors``, ``frame``, ``window``,
``timings``, ``fileio``, ``jsonout``, ``sources/`` and ``segmenters/`` (the methods,
registered as ``streamseg.segmenters`` is imported); then ``sinks/``, the ``registry``
(looking methods up), ``config`` (the run's schema), ``outputs``, ``pipeline``,
``stacks`` (the microscopy stacks' run), ``evaluation/``, ``serve`` and ``cli``. Every
import counts, also one inside a function (those only put a cycle off until run time);
one under ``if TYPE_CHECKING:`` does not (it never runs).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import streamseg

ROOT = Path(streamseg.__file__).parent

#: The layers below segmenters/ and the modules above them they must not import.
LOW = (
    "params",
    "errors",
    "frame",
    "window",
    "timings",
    "fileio",
    "jsonout",
    "sources",
    "segmenters",
)
HIGH = ("config", "registry", "pipeline", "outputs", "stacks", "serve", "cli", "evaluation")
#: Where a method may be named: the methods themselves, the registry (its typed
#: overloads), and the DeepLS family's shipped weights (keyed by its net family).
NAMING = ("segmenters", "registry", "models")
#: Modules whose functions stay short (the frame loop, the outputs' checks, supervision,
#: the commands).
SHORT = ("pipeline", "outputs", "serve", "cli")


def _module_name(path: Path) -> str:
    parts = ["streamseg", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _top(module: str) -> str:
    """``streamseg.sources.pyav`` → ``sources``."""
    return module.split(".")[1] if "." in module else ""


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree`` that runs, at any depth."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _imports(node)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules an import statement of ``module`` imports (relative ones resolved)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    # `from package import submodule` imports the submodule too.
    return {base} | {f"{base}.{alias.name}" for alias in node.names}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found = set().union(*(_targets(module, node) for node in _imports(tree)))
        graph[module] = found - {module}  # a package's __init__ importing its submodules
    return graph


GRAPH = _graph()


def _internal(targets: set[str]) -> set[str]:
    """The streamseg modules among ``targets`` (not the standard library or numpy)."""
    return {t for t in targets if t in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node] & graph.keys()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_walk_sees_function_level_and_relative_imports():
    # The registry imports the methods inside a function (the package registers them).
    assert "streamseg.segmenters" in GRAPH["streamseg.registry"]
    tree = ast.parse("def f():\n    from .base import Sink\n    from .. import errors\n")
    found = set().union(*(_targets("streamseg.sinks.png", n) for n in _imports(tree)))
    assert {"streamseg.sinks.base", "streamseg.errors"} <= found
    hidden = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n")
    assert set().union(*(_targets("streamseg.cli", n) for n in _imports(hidden))) == {
        "typing",
        "typing.TYPE_CHECKING",
    }


def test_the_import_graph_has_no_cycle():
    cycle = _cycle(GRAPH)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_cycle_finder_reports_a_cycle():
    graph = {"a": {"b", "os"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", [m for m in MODULES if _top(m) in LOW])
def test_no_module_below_the_segmenters_imports_above_them(module: str):
    above = sorted(t for t in _internal(GRAPH[module]) if _top(t) in HIGH)
    assert not above, f"{module} imports {', '.join(above)}"


def test_only_the_cli_talks_to_the_terminal():
    talking = {
        module: sorted(t for t in targets if t.split(".")[0] in ("rich", "click"))
        for module, targets in GRAPH.items()
        if _top(module) not in ("cli", "__main__")
    }
    assert not {m: t for m, t in talking.items() if t}


def test_nothing_of_the_library_imports_the_cli():
    """The CLI is the top: serve, the pipeline and the rest are used by it, never the
    other way (``__main__`` only starts it)."""
    importing = {
        module: sorted(t for t in _internal(targets) if _top(t) == "cli")
        for module, targets in GRAPH.items()
        if _top(module) not in ("cli", "__main__")
    }
    assert not {m: t for m, t in importing.items() if t}


def test_serve_needs_no_ray_to_read_its_configuration():
    """Ray is imported where actors start (``serve.connect``), never at the top of a module:
    a cameras file is checked, and the package imported, without the [ray] extra."""
    for module, path in MODULES.items():
        if _top(module) != "serve":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set().union(
            *(
                _targets(module, node)
                for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom))
            )
        )
        assert not {t for t in top if t.split(".")[0] == "ray"}, module


@pytest.mark.parametrize("module", [m for m in MODULES if _top(m) in SHORT])
def test_functions_stay_under_80_lines(module: str):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 80
    ]
    assert not long, f"{module}: {', '.join(long)}"


def test_no_method_is_named_above_the_segmenters():
    """The layers above ask a method's capabilities (Segmenter.checkpointable...), they
    never test its name."""
    names = set(streamseg.available(installed_only=False))
    named = []
    for module, path in MODULES.items():
        if _top(module) in NAMING:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named += [
            f"{module}:{node.lineno} {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in names
        ]
    assert not named, ", ".join(named)
