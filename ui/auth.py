"""Optional login: turn `PAPERCHAT_AUTH` into the user list Gradio's `launch(auth=...)` takes.

The value is either one `user:password` pair or the path of a file with one pair a line, so a
small team can share an instance without putting every password into the environment.
"""

from __future__ import annotations

from pathlib import Path

from rag.errors import InputError

Credentials = list[tuple[str, str]]


def parse_pair(text: str, where: str) -> tuple[str, str]:
    """'user:password' -> (user, password); the password may itself contain ':'.

    The error never quotes the value: a line missing its ':' may well be a bare password, and
    the message goes to the terminal and the logs."""
    user, sep, password = text.partition(":")
    if not sep or not user.strip() or not password:
        missing = "the ':'" if not sep else "a user name" if not user.strip() else "a password"
        raise InputError(f"{where}: expected 'user:password', but it lacks {missing}.")
    return user.strip(), password


def read_auth_file(path: Path) -> Credentials:
    """One `user:password` a line; blank lines and lines starting with '#' are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the auth file ({exc}).") from None
    pairs = [
        parse_pair(line.strip(), f"{path}:{number}")
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not pairs:
        raise InputError(f"{path}: the auth file holds no 'user:password' line.")
    return pairs


def load_auth(value: str | None) -> Credentials | None:
    """Settings.auth -> credentials for Gradio, or None when login is off."""
    if not value or not value.strip():
        return None
    path = Path(value).expanduser()
    if path.is_file():
        return read_auth_file(path)
    return [parse_pair(value.strip(), "PAPERCHAT_AUTH")]
