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
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dpbench"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("dpbench")}
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    module = "dpbench." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
    above = sorted(name for name in imports(path) if layer(name) > layer(module))
    assert not above, f"{module} (layer {layer(module)}) imports {above}"
