"""The wheel must carry the prompts and find them at run time without the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("paperchat-*.whl")
    return wheel


def test_wheel_ships_packages_prompts_and_console_script(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("rag", "vectorstore", "ui", "prompts"):
        assert f"{package}/__init__.py" in names
    prompt_files = {Path(n).name for n in names if n.startswith("prompts/") and n.endswith(".txt")}
    assert prompt_files == {p.name for p in (ROOT / "prompts").glob("*.txt")}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    # The console script lives in ui (rag's CLI plus `ui`), so that rag never imports ui.
    assert "paperchat = ui.launcher:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_prompts_load_from_installed_wheel_outside_checkout(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import prompts, rag.prompts as p; "
        "print(prompts.__file__); print(len(p.load_prompt('system')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert Path(out[0]).is_relative_to(site)
    assert int(out[1]) > 100


# Installed by scripts/setup.sh before paperchat (the CPU build), on purpose not a dependency.
NOT_DECLARED = {"torch"}


def _declared() -> dict[str, str]:
    """Normalised distribution name -> requirement, from pyproject's core dependencies."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]: req for req in project["dependencies"]}
    return {_normalise(name): req for name, req in names.items()}


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _imported_distributions() -> set[str]:
    """Distributions that rag, vectorstore and ui import, at module level or lazily."""
    import ast
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    found: set[str] = set()
    for package in ("rag", "vectorstore", "ui"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.update(_normalise(d) for d in owners.get(module.split(".")[0], []))
    return found


def test_every_imported_package_is_declared_and_every_declared_one_imported() -> None:
    imported = _imported_distributions() - {"paperchat"}
    declared = _declared()
    assert sorted(imported - set(declared) - NOT_DECLARED) == []
    assert sorted(set(declared) - imported) == []
