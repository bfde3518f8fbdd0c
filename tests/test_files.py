"""`tantieme.files`: a file is replaced whole or not at all, flushed to the disk, with its mode."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tantieme.errors import ConfigError
from tantieme.files import read_record, write_atomic, write_json


def test_write_json__replaces_the_file_private_by_default(tmp_path):
    path = tmp_path / "deep" / "record.json"
    write_json(path, {"a": 1})
    write_json(path, {"b": [2, 3]}, indent=None)
    assert path.read_text() == '{"b": [2, 3]}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_atomic(path, b"x", 0o644)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_bytes() == b"x"
    assert os.listdir(path.parent) == ["record.json"]


def test_write_json__flushes_the_file_then_the_rename(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")) or real(fd))
    path = tmp_path / "record.json"
    write_json(path, {"a": 1})
    assert len(synced) == 2 and synced[0].startswith(str(tmp_path / ".record.json.")) and synced[1] == str(tmp_path)
    write_json(path, {"a": 2}, durable=False)  # a cache
    assert len(synced) == 2 and json.loads(path.read_text()) == {"a": 2}


def test_write_json__a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "record.json"
    write_json(path, {"a": 1})

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["record.json"]


def test_read_record__none_when_absent__parsed__damaged_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "record.json"
    address = lambda record: record["address"]  # noqa: E731
    assert read_record(path, address, "fix it") is None
    write_json(path, {"address": "0xabc"})
    assert read_record(path, address, "fix it") == "0xabc"
    for damaged, error in (("{", "JSONDecodeError"), ("{}", "KeyError"), ("[1]", "TypeError")):
        path.write_text(damaged)
        with pytest.raises(ConfigError) as refused:
            read_record(path, address, "move it away")
        assert str(refused.value).startswith(f"{path} is damaged ({error}: ")
        assert str(refused.value).endswith("); move it away")
