"""Check uploaded dump files against the limits and keep the accepted ones under the data dir.

Gradio's own limits (the picker's file types, launch's max_file_size) can be bypassed by an
API client, so the server checks again here and explains each refusal by file name. For the
same reason the stored name is made safe here rather than trusting Gradio's sanitising: a name
such as `../../x.txt`, `/etc/x.txt`, `..\\x.txt` or one holding NUL or control characters must
never place a file outside `<home>/uploads`.
"""

from __future__ import annotations

import codecs
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ALLOWED_SUFFIXES = (".txt",)
SNIFF_BYTES = 8192  # enough to tell a text dump from a binary file or a saved HTML page
MAX_NAME_CHARS = 120
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_HTML_START = re.compile(rb"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)


@dataclass
class UploadCheck:
    accepted: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one clear message per refused file


def upload_name(path: Path | str) -> str:
    """The name the user uploaded (Gradio keeps it as the temp file's name), made safe to store.

    Only the last component survives (after '/' or '\\', so Windows paths are cut too); control
    characters and NUL are dropped, leading dots removed (no '..' or hidden files), and the
    length capped with the suffix kept, so the name stays one plain file name in one folder.
    """
    name = re.split(r"[/\\]", str(path))[-1]
    name = _UNSAFE_CHARS.sub("", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME_CHARS:
        stem, suffix = Path(name).stem, Path(name).suffix[:10]
        name = stem[: MAX_NAME_CHARS - len(suffix)] + suffix
    return name or "upload"


def sniff_problem(path: Path) -> str | None:
    """Why the start of the file is not a text dump (binary, not UTF-8, HTML), or None.

    Checked before the file is stored, so a renamed PDF or a saved web page is refused at the
    door instead of being copied into the data dir and failing later in the parser."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if b"\x00" in head:
        return "it is a binary file, not a text dump."
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return "it is not UTF-8 text; save the Daily Papers page as plain text."
    if _HTML_START.match(head):
        return "it is an HTML page; save the Daily Papers page as text (.txt) instead."
    return None


def check_one(path: Path, max_mb: int) -> str | None:
    """The refusal message for one upload, or None when it may be indexed."""
    name = upload_name(path)
    if path.suffix.lower() not in ALLOWED_SUFFIXES:
        return f"{name}: refused — only .txt dump files can be indexed."
    if not path.is_file():
        return f"{name}: refused — the upload did not arrive."
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        size_mb = size / 1024 / 1024
        return f"{name}: refused — {size_mb:.1f} MB is over the {max_mb} MB upload limit."
    if size == 0:
        return f"{name}: refused — the file is empty."
    problem = sniff_problem(path)
    return f"{name}: refused — {problem}" if problem else None


def check_uploads(paths: list[str | Path], max_mb: int) -> UploadCheck:
    """Split uploads into acceptable dumps and refusals (wrong type, too big, empty, binary)."""
    check = UploadCheck()
    for raw in paths:
        path = Path(raw)
        message = check_one(path, max_mb)
        if message:
            check.refused.append(message)
        else:
            check.accepted.append(path)
    return check


def unique_target(folder: Path, name: str, taken: set[Path]) -> Path:
    """`folder/name`, or `folder/stem-2.txt`... when this batch already used that name, so two
    uploads called `dump.txt` in one batch do not overwrite each other."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while target in taken:
        target = folder / f"{stem}-{number}{suffix}"
        number += 1
    return target


def store_uploads(paths: list[Path], folder: Path) -> list[Path]:
    """Copy accepted uploads into `folder` (Gradio deletes its temp copies on shutdown)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    stored: list[Path] = []
    for path in paths:
        target = unique_target(folder, upload_name(path), set(stored))
        if target.parent.resolve() != root or target.name in ("", ".", ".."):
            raise ValueError(f"refusing to store an upload outside {folder}: {target}")
        if target.is_symlink():  # a planted link must not redirect the copy elsewhere
            target.unlink()
        shutil.copyfile(path, target)
        stored.append(target)
    return stored
