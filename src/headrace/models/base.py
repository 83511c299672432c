"""Shared pieces of the API models: the response base class and pages.

Modules that define models do not use ``from __future__ import annotations``: pydantic
would have to ``eval`` each string annotation while defining the class, a cost paid on
every ``python run.py`` (tests/unit/test_model_modules.py keeps it so). Annotations that
name a class defined later, or imported only for type checking, are quoted.
"""

from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from headrace.utils.factories import new_dict

if TYPE_CHECKING:
    from headrace.store.base import Store

T = TypeVar("T")


class ResponseContext:
    """What a response needs to fetch related objects lazily: the store it came from.

    Passed explicitly by the store that built the response; never a hidden global.
    """

    def __init__(self, store: "Store") -> None:
        self.store = store


class RequestModel(BaseModel):
    """Base of request and update models."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    @classmethod
    def constructed(cls, **values: Any) -> Self:
        """``model_construct(**values)`` for trusted values, at a fraction of its cost.

        A step's records are built this way from parts already validated, three per
        step. pydantic's ``model_construct`` looks at every field's aliases and asks
        each default factory's signature on every call (not cached); here each class's
        fields are read once into a plan (name, default, factory) and a call only fills
        a dict. The result is what ``model_construct`` gives: the fields set are only
        those given, unknown names are ignored, missing required fields stay unset.
        Classes the plan cannot describe (aliases, post-init hooks, private attributes,
        mutable plain defaults) go through ``model_construct``.
        """
        plan = _PLANS.get(cls, _UNPLANNED)
        if plan is _UNPLANNED:
            plan = _PLANS[cls] = _construct_plan(cls)
        if plan is None:
            fields_set = set(values)
            for name, factory in _zero_argument_factories(cls):
                if name not in values:
                    values[name] = factory()
            return cast(Self, cls.model_construct(_fields_set=fields_set, **values))
        fields: dict[str, Any] = {}
        for name, default, factory in plan:
            if name in values:
                fields[name] = values[name]
            elif factory is not None:
                fields[name] = factory()
            elif default is not _REQUIRED:
                fields[name] = default
        model = cls.__new__(cls)
        _set = object.__setattr__
        _set(model, "__dict__", fields)
        _set(model, "__pydantic_fields_set__", set(values))
        _set(model, "__pydantic_extra__", None)
        _set(model, "__pydantic_private__", None)
        return model


_REQUIRED = object()
_UNPLANNED = object()
_IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, bytes, tuple, frozenset, Enum)
_Plan = tuple[tuple[str, Any, Any], ...]
_PLANS: dict[type[BaseModel], Any] = {}
_FACTORIES: dict[type[BaseModel], tuple[tuple[str, Any], ...]] = {}


def _construct_plan(cls: type[BaseModel]) -> _Plan | None:
    """(name, plain default or ``_REQUIRED``, zero-argument factory or ``None``) per
    field of ``cls``, in field order; ``None`` when ``constructed`` must fall back to
    ``model_construct``."""
    if (
        cls.__pydantic_post_init__
        or cls.__pydantic_root_model__
        or cls.__private_attributes__
        or cls.model_config.get("extra") == "allow"
    ):
        return None
    plan: list[tuple[str, Any, Any]] = []
    for name, field in cls.model_fields.items():
        if field.alias is not None or field.validation_alias is not None:
            return None
        if field.default_factory is not None:
            if field.default_factory_takes_validated_data:
                return None
            plan.append((name, _REQUIRED, field.default_factory))
        elif field.is_required():
            plan.append((name, _REQUIRED, None))
        elif isinstance(field.default, _IMMUTABLE_DEFAULTS):
            # (a tuple of mutable items would be shared: pydantic copies those)
            if isinstance(field.default, tuple) and field.default:
                return None
            plan.append((name, field.default, None))
        else:
            return None
    return tuple(plan)


def _zero_argument_factories(cls: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """The fields of ``cls`` whose default comes from a factory taking no argument."""
    factories = _FACTORIES.get(cls)
    if factories is None:
        factories = tuple(
            (name, field.default_factory)
            for name, field in cls.model_fields.items()
            if field.default_factory is not None and not field.default_factory_takes_validated_data
        )
        _FACTORIES[cls] = factories
    return factories


class ResponseModel(BaseModel):
    """Base of response models: an id, a creation time, and a link back to the store."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    id: str
    created: datetime
    _context: ResponseContext | None = PrivateAttr(default=None)

    def attach(self, context: ResponseContext | None) -> Any:
        """Remember the store this response came from; returns ``self``."""
        self._context = context
        return self

    @property
    def store(self) -> "Store":
        """The store this response came from."""
        from headrace.exceptions import StoreError

        if self._context is None:
            raise StoreError(
                f"This {type(self).__name__} is detached from any store; "
                "fetch it through headrace.client.Client to follow its links."
            )
        return self._context.store


class RunResponseBase(ResponseModel):
    """What pipeline runs and step runs share: typed run metadata and a model version."""

    model_version_id: str | None = None
    run_metadata: dict[str, Any] = Field(default_factory=new_dict)
    run_metadata_types: dict[str, str] = Field(default_factory=new_dict)

    @model_validator(mode="after")
    def _typed_metadata(self) -> Self:
        if self.run_metadata_types:
            from headrace.metadata.metadata_types import decode_metadata

            self.run_metadata = decode_metadata(self.run_metadata, self.run_metadata_types)
        return self

    @property
    def model_version(self) -> Any:
        """The model version this run's artifacts are linked to (``None`` without one)."""
        if self.model_version_id is None:
            return None
        return self.store.get_model_version(self.model_version_id)


class Page(BaseModel, Generic[T]):
    """One page of a list result."""

    model_config = ConfigDict(defer_build=True)

    index: int
    max_size: int
    total_pages: int
    total: int
    items: list[T]

    def __iter__(self) -> Iterator[T]:  # type: ignore[override]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    def __contains__(self, item: object) -> bool:
        return item in self.items
