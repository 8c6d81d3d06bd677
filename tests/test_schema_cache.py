"""``engine.schema.bundled_schema``: the schema files parsed once, then read back from a cache of their parsed
form beside the bytecode, only while the cache holds the very bytes of the file."""

import binascii
import importlib.util
import json
import marshal
import sys
from pathlib import Path

import pytest

from engine import schema
from engine.schema import SCENARIO_SCHEMA_FILE, SCHEMA_FILE, schema_path

read_schema = schema.bundled_schema.__wrapped__  # past the in-process cache


@pytest.fixture
def cache_in(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "_cache_file", lambda name: tmp_path / f"{name}.marshal")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return tmp_path


def _parsed(name):
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


def _key(name):
    raw = schema_path(name).read_bytes()
    return (schema._CACHE_FORMAT, len(raw), binascii.crc32(raw))


@pytest.mark.parametrize("name", [SCHEMA_FILE, SCENARIO_SCHEMA_FILE])
def test_the_cache_is_written_then_read_back_as_the_file_parses(cache_in, monkeypatch, name):
    expected = _parsed(name)
    first = read_schema(name)
    assert first == expected and list(first) == list(expected)
    assert marshal.loads((cache_in / f"{name}.marshal").read_bytes()) == (_key(name), expected)

    def no_parsing(text):
        raise AssertionError("parsed again")

    monkeypatch.setattr(schema.json, "loads", no_parsing)
    assert read_schema(name) == expected


def test_a_cache_of_other_bytes_is_passed_by_and_written_again(cache_in):
    format_, length, crc = _key(SCHEMA_FILE)
    cached = cache_in / f"{SCHEMA_FILE}.marshal"
    cached.write_bytes(marshal.dumps(((format_, length, crc ^ 1), {"stale": True})))
    assert read_schema(SCHEMA_FILE) == _parsed(SCHEMA_FILE)
    assert marshal.loads(cached.read_bytes())[0] == (format_, length, crc)


@pytest.mark.parametrize("content", [b"", b"\x00not marshal", marshal.dumps([1, 2]), marshal.dumps((1, 2, 3))])
def test_a_damaged_cache_is_passed_by(cache_in, content):
    (cache_in / f"{SCHEMA_FILE}.marshal").write_bytes(content)
    assert read_schema(SCHEMA_FILE) == _parsed(SCHEMA_FILE)


def test_a_cache_that_cannot_be_written_is_done_without(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    monkeypatch.setattr(schema, "_cache_file", lambda name: blocker / "no" / f"{name}.marshal")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert read_schema(SCHEMA_FILE) == _parsed(SCHEMA_FILE)
    assert blocker.read_bytes() == b""


def test_the_cache_lies_where_python_puts_bytecode(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "prefix"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert read_schema(SCHEMA_FILE) == _parsed(SCHEMA_FILE)
    (written,) = (tmp_path / "prefix").rglob("*.marshal")
    assert written.parent == Path(importlib.util.cache_from_source(schema.__file__)).parent
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert schema._cache_file(SCHEMA_FILE).parent == Path(importlib.util.cache_from_source(schema.__file__)).parent


def test_no_cache_where_python_keeps_no_bytecode(monkeypatch):
    monkeypatch.setattr(sys.implementation, "cache_tag", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert schema._cache_file(SCHEMA_FILE) is None
    assert read_schema(SCHEMA_FILE) == _parsed(SCHEMA_FILE)


def test_nothing_is_written_where_no_bytecode_is(cache_in, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert read_schema(SCHEMA_FILE) == _parsed(SCHEMA_FILE)
    assert list(cache_in.iterdir()) == []
