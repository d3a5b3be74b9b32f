"""Dependencies point one way, ui -> rag -> vectorstore (DESIGN.md, "Architecture").

Every import statement counts, including those inside functions: a lazy import is still a
dependency, and one is how `rag/cli.py` used to reach into ui to launch the app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"vectorstore": {"rag", "ui"}, "rag": {"ui"}}


def imported_packages(path: Path) -> set[str]:
    """Top-level package of every module `path` imports (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downstream(package: str) -> None:
    leaks = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {file: bad for file, bad in leaks.items() if bad} == {}


def test_the_scan_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ui.app import launch\n    import ui\n")
    assert imported_packages(module) == {"ui"}
