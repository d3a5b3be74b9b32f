"""Check uploaded dump files against the limits and keep the accepted ones under the data dir.

Gradio's own limits (the picker's file types, launch's max_file_size) can be bypassed by an
API client, so the server checks again here and explains each refusal by file name.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

ALLOWED_SUFFIXES = (".txt",)


@dataclass
class UploadCheck:
    accepted: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one clear message per refused file


def upload_name(path: Path) -> str:
    """The name the user uploaded (Gradio keeps it as the temp file's name)."""
    return path.name


def check_uploads(paths: list[str | Path], max_mb: int) -> UploadCheck:
    """Split uploads into acceptable dumps and refusals (wrong type, too big, empty)."""
    check = UploadCheck()
    limit = max_mb * 1024 * 1024
    for raw in paths:
        path = Path(raw)
        name = upload_name(path)
        if path.suffix.lower() not in ALLOWED_SUFFIXES:
            check.refused.append(f"{name}: refused — only .txt dump files can be indexed.")
        elif not path.is_file():
            check.refused.append(f"{name}: refused — the upload did not arrive.")
        elif path.stat().st_size > limit:
            size_mb = path.stat().st_size / 1024 / 1024
            check.refused.append(
                f"{name}: refused — {size_mb:.1f} MB is over the {max_mb} MB upload limit."
            )
        elif path.stat().st_size == 0:
            check.refused.append(f"{name}: refused — the file is empty.")
        else:
            check.accepted.append(path)
    return check


def store_uploads(paths: list[Path], folder: Path) -> list[Path]:
    """Copy accepted uploads into `folder` (Gradio deletes its temp copies on shutdown)."""
    folder.mkdir(parents=True, exist_ok=True)
    stored = []
    for path in paths:
        target = folder / upload_name(path)
        shutil.copyfile(path, target)
        stored.append(target)
    return stored
