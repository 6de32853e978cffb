"""The package's layers: a module never imports one of a higher layer (no import cycles between them).

From the bottom: shared utilities, then models and data, then tasks, then the report, then the
command-line entry points. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dpbench"

# first component below dpbench -> layer; modules not listed are shared utilities (layer 0)
LAYERS = {
    "sparse": 1,
    "cluster": 1,
    "data": 1,
    "images": 1,
    "anomaly": 1,
    "tasks": 2,
    "report": 3,
    "bench": 4,
    "gpu_check": 4,
    "estimate": 4,
    "cli": 4,
    "run_cell": 4,
    "contract": 4,  # dpbench check-model: runs a model through the tasks' trainings
    "jobserver": 4,  # runs the CLI in its forks
    "__main__": 4,
}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def imports(path: Path) -> set[str]:
    """The package's names ``path`` imports, anywhere in it (imports inside functions too): ``from
    dpbench.report import plotting`` gives ``dpbench.report`` and ``dpbench.report.plotting``, the
    module it may name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dpbench"):
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("dpbench")}
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    return "dpbench." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    module = module_name(path)
    above = sorted(name for name in imports(path) if layer(name) > layer(module))
    assert not above, f"{module} (layer {layer(module)}) imports {above}"



def test_no_import_cycle_between_modules():
    """Not even within a layer, nor through an import inside a function (which hides a cycle from Python
    at import time but still ties the two modules together)."""
    from graphlib import CycleError, TopologicalSorter

    paths = {module_name(p): p for p in MODULES}
    graph = TopologicalSorter({module: (imports(path) & set(paths)) - {module} for module, path in paths.items()})
    try:
        graph.prepare()
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")
