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
    assert "paperchat = rag.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


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
