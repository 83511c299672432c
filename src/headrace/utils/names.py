"""Names that become parts of file paths, or that are printed to a terminal.

Step ids, output names and run names end up in file names below the artifact store
(``runs/<run>/<step>.<output>``, ``logs/<run>/<step>.log``) and in terminal output. One
check decides what such a name may contain, so every place that takes a name refuses the
same things with the same words; :func:`path_component` encodes free-form names (artifact
names) that are allowed to hold anything; :func:`printable` makes any text safe to print.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls: what a terminal may interpret as a command (ANSI
# escapes start with ESC, 0x1b, or with the C1 CSI, 0x9b).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same, but line breaks and tabs pass: for text laid out in lines (tables, logs).
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_UNSAFE_IN_PATH = re.compile(r"[^A-Za-z0-9._-]")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a step, output or run, or ``None`` when it can.

    Refused: anything but a non-empty string; path separators (``/``, ``\\``); ``..``
    (a parent directory); a leading ``.`` alone or a ``~`` start; NUL and other control
    characters (they would also reach terminals raw).
    """
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if "/" in name or "\\" in name:
        return "may not contain a path separator ('/' or '\\')"
    if ".." in name:
        return "may not contain '..'"
    if name == "." or name.startswith("~"):
        return "may not be '.' or start with '~'"
    found = _CONTROL.search(name)
    if found is not None:
        return f"may not contain control characters (found {found.group()!r})"
    return None


def label_problem(name: object) -> str | None:
    """Why ``name`` cannot be a free-form label (an artifact name), or ``None``.

    Labels may hold separators and dots (they are encoded with :func:`path_component`
    wherever they become paths) but no control characters.
    """
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    found = _CONTROL.search(name)
    if found is not None:
        return f"may not contain control characters (found {found.group()!r})"
    return None


def secret_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a secret, or ``None``: a label without surrounding spaces
    (secret names are looked up stripped, so ``" db"`` could never be found again)."""
    problem = label_problem(name)
    if problem is None and isinstance(name, str) and name != name.strip():
        problem = "may not start or end with whitespace"
    return problem


def path_component(name: str) -> str:
    """``name`` as one safe file-name component: anything outside ``[A-Za-z0-9._-]`` is
    percent-encoded, and ``.``/``..`` are encoded too, so no name reaches another
    directory and distinct names stay distinct."""
    encoded = _UNSAFE_IN_PATH.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name)
    if not encoded or set(encoded) == {"."}:
        encoded = encoded.replace(".", "%2E") or "%00"
    return encoded


def printable(text: object) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), safe for a terminal.

    Names come from users, run configurations and snapshot triggers; printed raw, an ANSI
    escape in one could rewrite the screen or hide other lines.
    """
    value = str(text)
    if _CONTROL.search(value) is None:
        return value
    return _CONTROL.sub(_escape, value)


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def terminal_safe(text: str) -> str:
    """``text`` with every control character but newline and tab shown as an escape.

    For output already laid out in lines (a table, a log); :func:`printable` escapes
    newlines too, for one name on one line.
    """
    if _CONTROL_BUT_LAYOUT.search(text) is None:
        return text
    return _CONTROL_BUT_LAYOUT.sub(_escape, text)
