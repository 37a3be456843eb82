"""Tests of costlib.core.cache: where entries live, keys, and that the cache never fails a command."""

from __future__ import annotations

import json
import os
import threading
import tomllib
from pathlib import Path

import pytest

import costlib
from costlib.core import cache

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_at(tmp_path, monkeypatch):
    """A fresh cache directory for one test."""
    where = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_DIR, str(where))
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    return where


def test_tests_never_use_the_real_user_cache():
    # tests/conftest.py points the whole session at a temporary folder
    assert cache.cache_dir() != Path.home() / ".cache" / "costlib"
    assert "costlib-test-cache-" in os.environ[cache.ENV_DIR]


def test_cache_dir_is_home_cache_costlib_without_the_variable(monkeypatch):
    monkeypatch.delenv(cache.ENV_DIR, raising=False)
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    assert cache.cache_dir() == Path.home() / ".cache" / "costlib"


def test_cache_dir_is_none_when_turned_off(cache_at, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    assert cache.cache_dir() is None
    assert not cache.store("x.json", {"k": 1}, [1])
    assert cache.load("x.json", {"k": 1}) is None


def test_store_then_load_returns_the_value(cache_at):
    value = {"rows": [[1.5, "a", None, float("inf")]], "notes": ["n"]}
    assert cache.store("sub/entry.json", {"k": 1}, value)
    assert cache.load("sub/entry.json", {"k": 1}) == value
    assert not list((cache_at / "sub").glob(".*.tmp"))  # the temporary file was renamed


def test_load_with_another_key_is_a_miss(cache_at):
    cache.store("entry.json", {"k": 1}, [1])
    assert cache.load("entry.json", {"k": 2}) is None
    assert cache.load("other.json", {"k": 1}) is None


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", '{"key": 3}', "\x00\xff"])
def test_a_corrupt_entry_is_a_miss(cache_at, text):
    cache.store("entry.json", {"k": 1}, [1])
    (cache_at / "entry.json").write_text(text, encoding="latin-1")
    assert cache.load("entry.json", {"k": 1}) is None


def test_an_unwritable_cache_dir_stores_nothing_and_does_not_fail(tmp_path, monkeypatch):
    # a path below a regular file cannot be created, whoever runs the test (root included)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV_DIR, str(blocker / "cache"))
    assert cache.store("entry.json", {"k": 1}, [1]) is False
    assert cache.load("entry.json", {"k": 1}) is None
    cache.prune("serving", 1)  # no error either


def test_a_value_that_is_not_json_is_not_stored(cache_at):
    assert cache.store("entry.json", {"k": 1}, {"x": object()}) is False
    assert not (cache_at / "entry.json").exists()
    assert not list(cache_at.glob(".*.tmp"))  # the half-written temporary file is removed


def test_concurrent_writers_and_readers_see_a_whole_entry_or_none(cache_at):
    big = {"rows": [[i, "x" * 50, float(i) / 3] for i in range(3000)]}
    seen = []

    def write():
        for _ in range(15):
            cache.store("entry.json", {"k": 1}, big)

    def read():
        for _ in range(60):
            got = cache.load("entry.json", {"k": 1})
            if got is not None:
                seen.append(got == big)

    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(seen)
    assert cache.load("entry.json", {"k": 1}) == big
    assert not list(cache_at.glob(".*.tmp"))


def test_file_signature_sees_an_edit_that_keeps_size_and_mtime(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("usd\n1.006\n")
    st = path.stat()
    before = cache.file_signature([path])
    path.write_text("usd\n1.007\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    assert cache.file_signature([path]) != before
    assert cache.file_signature([tmp_path / "missing.csv"]) == [[str(tmp_path / "missing.csv")]]


def test_prune_keeps_the_newest_entries(cache_at):
    for i in range(5):
        cache.store(f"serving/{i}.json", {"k": i}, i)
        os.utime(cache_at / "serving" / f"{i}.json", ns=(i * 10**9, i * 10**9))
    cache.prune("serving", 2)
    assert sorted(p.name for p in (cache_at / "serving").iterdir()) == ["3.json", "4.json"]


def test_digest_ignores_dict_order_but_not_types():
    assert cache.digest({"a": 1, "b": 2}) == cache.digest({"b": 2, "a": 1})
    assert cache.digest({"a": 1}) != cache.digest({"a": 1.0})
    assert cache.digest({"a": True}) != cache.digest({"a": 1})


def test_code_signature_names_existing_modules():
    sig = cache.code_signature("costlib.core.cache", "costlib.tables")
    assert len(sig) == 64 and sig == cache.code_signature("costlib.core.cache", "costlib.tables")


def test_version_is_the_one_in_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert costlib.__version__ == meta["project"]["version"] == cache.VERSION


def test_an_entry_is_plain_json(cache_at):
    cache.store("entry.json", {"k": 1}, {"a": [1, 2]})
    doc = json.loads((cache_at / "entry.json").read_text(encoding="utf-8"))
    assert doc["value"] == {"a": [1, 2]} and doc["key"] == cache.digest({"k": 1})
