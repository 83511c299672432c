"""Base class of configuration models: strict, so a misspelled key is an error that names it.

Modules that define models do not use ``from __future__ import annotations``: pydantic
would have to ``eval`` each string annotation while defining the class, a cost paid on
every ``python run.py`` (tests/unit/test_model_modules.py keeps it so). Annotations that
name a class defined later, or imported only for type checking, are quoted.
"""

from typing import Any, Self, cast

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from headrace.utils.suggest import unknown_key_message


def validation_problems(error: ValidationError) -> list[str]:
    """One ``location: message`` line per problem of a pydantic error, without its noise."""
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return problems


class ConfigModel(BaseModel):
    """A configuration model that refuses unknown fields, naming the closest valid one."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # Checked before pydantic's own "extra inputs are not permitted", which names the
        # key but not what was meant.
        if isinstance(data, dict):
            fields = cls.model_fields
            for key in data:
                if isinstance(key, str) and key not in fields:
                    raise ValueError(unknown_key_message("option", key, list(fields)))
        return data

    @classmethod
    def empty(cls) -> Self:
        """Every field at its default and none set: equal to ``cls()``.

        Built without validation, so the model's schema is not built for it: a plain run
        makes such defaults (an empty run configuration, the default cache policy) but
        may never validate or dump one.
        """
        # Factory fields are filled here: model_construct would read each factory's
        # signature again (pydantic does not cache it), about 10 us a field.
        values = {
            name: field.default_factory()  # type: ignore[call-arg]
            for name, field in cls.model_fields.items()
            if field.default_factory is not None
        }
        return cast(Self, cls.model_construct(_fields_set=set(), **values))

    def merged_with(self, update: BaseModel | None) -> Self:
        """A copy with every field that ``update`` set explicitly laid on top.

        Dictionaries (settings, parameters, environment, extra) are merged key by key so a
        later layer can change one entry without repeating the rest.
        """
        if update is None or not update.model_fields_set:
            return self
        values = dict(self.__dict__)
        for field in update.model_fields_set:
            if field not in type(self).model_fields:
                continue
            new = getattr(update, field)
            old = values.get(field)
            if isinstance(old, dict) and isinstance(new, dict):
                merged = dict(old)
                for key, item in new.items():
                    previous = merged.get(key)
                    if isinstance(previous, ConfigModel) and isinstance(item, BaseModel):
                        item = previous.merged_with(item)  # e.g. steps.<name> of two layers
                    merged[key] = item
                new = merged
            elif field == "tags" and isinstance(old, list) and isinstance(new, list):
                new = list(dict.fromkeys([*old, *new]))  # tags add up across layers
            values[field] = new
        fields_set = set(self.model_fields_set) | (
            set(update.model_fields_set) & set(type(self).model_fields)
        )
        return cast(Self, type(self).model_construct(_fields_set=fields_set, **values))

    def set_fields_json(self) -> dict[str, Any]:
        """``model_dump(mode="json", exclude_unset=True)``, without building the
        serializer when nothing was set (as for the default run configuration)."""
        if not self.model_fields_set:
            return {}
        return self.model_dump(mode="json", exclude_unset=True)

    def set_fields(self) -> dict[str, Any]:
        """The fields that were given explicitly, as plain values."""
        return {name: getattr(self, name) for name in self.model_fields_set}
