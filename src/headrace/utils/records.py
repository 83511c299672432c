"""Small value classes for the run path, cheaper to define than dataclasses.

``@dataclass`` writes the source of ``__init__``, ``__repr__``, ``__eq__`` (and, when
frozen, ``__setattr__``, ``__delattr__``, ``__hash__``) and ``exec``s it while the class
is being defined: about 1 ms per class on a slow machine, paid by every
``python run.py`` for each of the ten records a run imports. These bases give the same
equality, repr, hashing and immutability from ``__slots__``, with no code generation.

A subclass lists its fields in ``__slots__`` and takes each of them as a keyword argument
of the same name in its own ``__init__`` (so ``__reduce__`` can rebuild it for pickling
and copying).
"""

from __future__ import annotations

from typing import Any, cast


class Record:
    """Equality, repr and pickling over the fields named in the class's ``__slots__``.

    Defining ``__eq__`` makes Python set ``__hash__`` to ``None``: mutable records are
    unhashable, as dataclasses are.
    """

    __slots__ = ()

    def _fields(self) -> tuple[str, ...]:
        return cast("tuple[str, ...]", type(self).__slots__)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), dict(zip(self._fields(), self._values(), strict=True))))


class FrozenRecord(Record):
    """A ``Record`` whose fields cannot change after ``__init__``; hashable.

    ``__init__`` sets the fields with ``self._init(name=value, ...)``.
    """

    __slots__ = ()

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__name__} is frozen")

    def __hash__(self) -> int:
        return hash(self._values())


def _rebuild(cls: type[Record], values: dict[str, Any]) -> Record:
    """Unpickle (or copy) a record through its own ``__init__``."""
    return cls(**values)
