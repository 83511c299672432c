"""Small artifacts kept inline in their record: what is captured, what spills to the
artifact store, the hash either way, and what the encoding refuses."""

from __future__ import annotations

import dataclasses
import enum
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from artifact_round_trip import load_saved
from headrace.artifact_stores.base import FsspecArtifactStore, LocalArtifactStore, files_digest
from headrace.artifact_stores.memory import InlineFilesStore
from headrace.artifacts.inline import (
    DEFAULT_INLINE_MAX_BYTES,
    MAGIC,
    decode_files,
    encode_files,
    inline_limit,
)
from headrace.artifacts.saving import SavedArtifact, materializer_for_value, save_value
from headrace.enums import VisualizationType
from headrace.exceptions import ArtifactError, ArtifactIntegrityError, ConfigurationError
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.materializers.built_in_materializer import BuiltInMaterializer


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Point(BaseModel):
    x: int
    label: str


@dataclasses.dataclass
class Pair:
    left: int
    right: str


SMALL_VALUES: list[tuple[str, Any]] = [
    ("int", 41),
    ("negative", -7),
    ("float", 2.5),
    ("bool", True),
    ("str", "héllo"),
    ("none", None),
    ("enum", Color.BLUE),
    ("bytes", b"\x00\xffabc"),
    ("bytearray", bytearray(b"xyz")),
    ("list", [1, "two", 3.0, None]),
    ("tuple", (1, (2, 3))),
    ("dict", {"a": 1, "b": [1, 2]}),
    ("set", {1, 2, 3}),
    ("frozenset", frozenset({"a", "b"})),
    ("pydantic", Point(x=1, label="p")),
    ("dataclass", Pair(1, "r")),
    ("mixed-list", [Color.RED, b"raw"]),  # stored element by element
]


def _save(store: LocalArtifactStore, name: str, value: Any, **kwargs: Any) -> SavedArtifact:
    return save_value(
        value,
        artifact_store=store,
        uri=f"{store.path}/{name}",
        materializer_class=kwargs.pop("materializer", None) or materializer_for_value(value),
        **kwargs,
    )


def _entries(store: LocalArtifactStore) -> list[str]:
    return sorted(os.listdir(store.path)) if os.path.isdir(store.path) else []


@pytest.mark.parametrize(("name", "value"), SMALL_VALUES, ids=[n for n, _ in SMALL_VALUES])
def test_a_small_value_is_kept_inline_and_loads_back(tmp_path: Path, name: str, value: Any) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = _save(store, name, value)
    assert saved.inline is not None and saved.inline.startswith(MAGIC)
    assert _entries(store) == []  # no directory, no temporary, nothing
    assert load_saved(saved, store) == value
    assert saved.size == sum(len(d) for d in decode_files(saved.inline, name).values())


@pytest.mark.parametrize(("name", "value"), SMALL_VALUES, ids=[n for n, _ in SMALL_VALUES])
def test_inline_and_files_hash_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: Any
) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    inline = _save(store, f"{name}-inline", value)
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "0")
    files = _save(store, f"{name}-files", value)
    assert inline.inline is not None and files.inline is None
    assert (inline.content_hash, inline.size) == (files.content_hash, files.size)
    assert store.digest(files.uri) == (files.content_hash, files.size)
    on_disk = {
        str(p.relative_to(files.uri)): p.read_bytes()
        for p in Path(files.uri).rglob("*")
        if p.is_file()
    }
    assert decode_files(inline.inline or b"", name) == on_disk
    assert inline.metadata == files.metadata


def test_an_object_store_gets_no_object_for_a_small_value(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FsspecArtifactStore(f"memory://inline-{os.getpid()}-{id(monkeypatch)}")
    try:
        saved = save_value(
            {"a": 1},
            artifact_store=store,
            uri=store.join(store.path, "small"),
            materializer_class=materializer_for_value({"a": 1}),
        )
        assert saved.inline is not None and not store.exists(saved.uri)
        assert load_saved(saved, store) == {"a": 1}
        monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "0")
        files = save_value(
            {"a": 1},
            artifact_store=store,
            uri=store.join(store.path, "files"),
            materializer_class=materializer_for_value({"a": 1}),
        )
        assert files.inline is None and store.digest(files.uri)[0] == saved.content_hash
    finally:
        store.rmtree(store.path)


def test_a_value_above_the_limit_spills_to_the_artifact_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "64")
    store = LocalArtifactStore(str(tmp_path / "store"))
    small = _save(store, "small", "x" * 50)  # 52 bytes of JSON
    big = _save(store, "big", "x" * 70)
    assert small.inline is not None and big.inline is None
    assert (Path(big.uri) / "data.json").read_text() == '"' + "x" * 70 + '"'
    assert _entries(store) == ["big"]  # renamed into place, no temporary
    assert store.digest(big.uri)[0] == big.content_hash
    assert load_saved(big, store) == "x" * 70
    # Element by element: the elements' files are counted together.
    many = _save(store, "many", [b"a" * 40, b"b" * 40])
    assert many.inline is None and load_saved(many, store) == [b"a" * 40, b"b" * 40]


def test_the_default_limit_and_switching_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert inline_limit() == DEFAULT_INLINE_MAX_BYTES == 16 * 1024
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "0")
    assert inline_limit() == 0
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "lots")
    with pytest.raises(ConfigurationError, match="HEADRACE_ARTIFACT_INLINE_MAX_BYTES"):
        inline_limit()


class _OpensFiles(BaseMaterializer):
    """Declares writing through the store, but also opens a file for writing."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    WRITES_THROUGH_STORE: ClassVar[bool] = True

    def save(self, data: Any) -> None:
        self.artifact_store.write_bytes(self.join("head.txt"), b"head")
        with self.artifact_store.open(self.join("body.txt"), "w") as handle:
            handle.write(str(data))

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join("body.txt"), "r") as handle:
            return int(handle.read())


class _PlainOpen(BuiltInMaterializer):
    """Writes with ``open`` and does not declare writing through the store."""

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join("data.json"), "w") as handle:
            handle.write(str(data))


class _Visualizing(BuiltInMaterializer):
    WRITES_THROUGH_STORE: ClassVar[bool] = True

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        path = self.join("view.md")
        self.artifact_store.write_bytes(path, f"# {data}".encode())
        return {path: VisualizationType.MARKDOWN}


def test_a_materializer_that_opens_files_is_never_inlined(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    opened = _save(store, "opened", 7, materializer=_OpensFiles)
    assert opened.inline is None
    assert sorted(os.listdir(opened.uri)) == ["body.txt", "head.txt"]  # the capture spilled
    assert store.digest(opened.uri)[0] == opened.content_hash
    assert load_saved(opened, store) == 7
    plain = _save(store, "plain", 8, materializer=_PlainOpen)
    assert plain.inline is None and (Path(plain.uri) / "data.json").read_text() == "8"


def test_visualizations_are_written_as_files(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = _save(store, "shown", 3, materializer=_Visualizing)
    assert saved.inline is None
    assert saved.visualizations == [{"uri": f"{saved.uri}/view.md", "type": "markdown"}]
    assert (Path(saved.uri) / "view.md").read_text() == "# 3"
    assert store.digest(saved.uri)[0] == saved.content_hash
    hidden = _save(store, "hidden", 3, materializer=_Visualizing, collect_visualizations=False)
    assert hidden.inline is not None


def test_a_failing_save_leaves_nothing(tmp_path: Path) -> None:
    class Failing(BuiltInMaterializer):
        WRITES_THROUGH_STORE: ClassVar[bool] = True

        def save(self, data: Any) -> None:
            super().save(data)
            raise RuntimeError("disk on fire")

    store = LocalArtifactStore(str(tmp_path / "store"))
    with pytest.raises(RuntimeError, match="disk on fire"):
        _save(store, "failed", 1, materializer=Failing)
    assert _entries(store) == []


def test_the_encoding_round_trips_and_is_sorted() -> None:
    files = {"b/x.json": b"1", "a.bin": b"\x00" * 3, "b/y": b""}
    encoded = encode_files(files)
    assert encoded == encode_files(dict(reversed(list(files.items()))))
    assert decode_files(encoded, "v") == files
    assert decode_files(MAGIC, "v") == {}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "marker"),
        (b"PK\x03\x04" + b"\x00" * 8, "marker"),
        (MAGIC + b"\x00\x00", "length field"),
        (MAGIC + b"\x00\x00\x00\x09data", "runs past its end"),
        (encode_files({"data.json": b"41"}) + b"\x00", "length field"),
        (encode_files({"data.json": b"41"})[:-1], "runs past its end"),
        (encode_files({"../escape": b"x"}), "plain relative path"),
        (encode_files({"/etc/passwd": b"x"}), "plain relative path"),
        (encode_files({"a/./b": b"x"}), "plain relative path"),
        (encode_files({"a": b"x"}) + encode_files({"a": b"y"})[len(MAGIC) :], "clashes"),
        (encode_files({"a": b"x"}) + encode_files({"a/b": b"y"})[len(MAGIC) :], "clashes"),
        (MAGIC + b"\x00\x00\x00\x01\xff\x00\x00\x00\x00", "not UTF-8"),
    ],
)
def test_garbled_encodings_are_refused_naming_the_version(content: bytes, reason: str) -> None:
    with pytest.raises(ArtifactIntegrityError, match=rf"artifact version 'v7'.*{reason}"):
        decode_files(content, "artifact version 'v7'")


def test_a_changed_inline_record_is_refused_on_load(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = _save(store, "n", 41)
    saved.inline = encode_files({"data.json": b"42"})  # well-formed, other bytes
    with pytest.raises(ArtifactIntegrityError, match="kept inline in its record"):
        load_saved(saved, store)
    saved.inline = b"garbage"
    with pytest.raises(ArtifactIntegrityError, match="not a valid inline artifact"):
        load_saved(saved, store)


def test_the_inline_files_store_is_read_only_and_confined(tmp_path: Path) -> None:
    uri = str(tmp_path / "v")
    files = {"data.json": b"[1]", "sub/x.bin": b"xx"}
    view = InlineFilesStore(uri, files)
    assert view.exists(uri) and view.isdir(f"{uri}/sub") and view.exists(f"{uri}/sub/x.bin")
    assert view.listdir(uri) == ["data.json", "sub"]
    assert view.size(f"{uri}/sub/x.bin") == 2
    assert view.digest(uri) == files_digest(files)
    assert list(view.walk(uri)) == [(uri, ["sub"], ["data.json"]), (f"{uri}/sub", [], ["x.bin"])]
    assert view.glob(f"{uri}/*.json") == [f"{uri}/data.json"]
    with view.open(f"{uri}/./data.json") as handle:
        assert handle.read() == "[1]"
    with pytest.raises(FileNotFoundError):
        view.open(f"{uri}/missing.json", "rb")
    with pytest.raises(ArtifactError, match="read-only"):
        view.open(f"{uri}/data.json", "w")
    with pytest.raises(ArtifactError, match="read-only"):
        view.write_bytes(f"{uri}/new", b"")
    with pytest.raises(ArtifactError, match="not inside the inline artifact"):
        view.open(f"{uri}/../other/data.json", "rb")
    target = tmp_path / "out"
    view.copy_out(uri, str(target))
    assert (target / "sub" / "x.bin").read_bytes() == b"xx"
