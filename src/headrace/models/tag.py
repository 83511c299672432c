"""Tags: names attached to pipelines, runs, artifacts and models, used to filter them."""

from collections.abc import Iterable

from headrace.exceptions import StoreError
from headrace.models.base import ResponseModel

MAX_TAG_LENGTH = 255


def clean_tags(tags: Iterable[str] | str) -> list[str]:
    """Tags as a list without duplicates, checked (one string is one tag).

    Raises:
        StoreError: a tag is not a non-empty string of at most 255 characters.
    """
    if isinstance(tags, str):
        tags = [tags]
    result: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_LENGTH:
            raise StoreError(
                f"Tags must be non-empty strings of at most {MAX_TAG_LENGTH} characters, "
                f"got {tag!r}."
            )
        if tag not in result:
            result.append(tag)
    return result


class TagResponse(ResponseModel):
    """A tag and how many entities carry it."""

    name: str
    count: int = 0
