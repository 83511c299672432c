"""Closest valid names for a misspelt one, so an error can say what was probably meant."""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word`` (``difflib`` ratio 0.6 or more), else ``None``."""
    import difflib  # only when an error is being worded: not part of `import headrace`

    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` when a candidate is close to ``word``, else ``""``."""
    match = closest(word, candidates)
    return f" (did you mean {match!r}?)" if match else ""


def unknown_key_message(what: str, key: str, valid: Iterable[str]) -> str:
    """``unknown <what> 'key' (did you mean 'x'?); valid: a, b, c``."""
    names = sorted(set(valid))
    return f"unknown {what} {key!r}{did_you_mean(key, names)}; valid: {', '.join(names) or 'none'}"
