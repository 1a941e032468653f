"""Download verification: good copies pass, corrupted ones fail loudly and leave nothing behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mic.data import download
from mic.data.download import ChecksumError, FileCopy, RawFile, fetch_file, fetch_source, resolve_mirror


def make_source(tmp_path: Path, content: bytes, published: bytes) -> tuple[RawFile, Path]:
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "demo" / "file.bin").write_bytes(content)
    raw = RawFile("file.bin", (FileCopy("file.bin", hashlib.sha256(published).hexdigest()),))
    return raw, mirror


def test_good_file_passes(tmp_path: Path) -> None:
    raw, mirror = make_source(tmp_path, b"sequence data", b"sequence data")
    fetch_file(raw, "demo", tmp_path / "out" / "file.bin", mirror)
    assert (tmp_path / "out" / "file.bin").read_bytes() == b"sequence data"


def test_flipped_byte_fails_and_leaves_nothing(tmp_path: Path) -> None:
    raw, mirror = make_source(tmp_path, b"sequence dat\x00", b"sequence data")
    out = tmp_path / "out"
    with pytest.raises(ChecksumError) as error:
        fetch_file(raw, "demo", out / "file.bin", mirror)
    message = str(error.value)
    assert "file.bin" in message and raw.copies[0].sha256 in message
    assert hashlib.sha256(b"sequence dat\x00").hexdigest() in message
    assert list(out.iterdir()) == []  # no output and no temp file


def test_missing_everywhere_names_the_variable(tmp_path: Path) -> None:
    raw = RawFile("file.bin", (FileCopy("file.bin", "0" * 64),))
    with pytest.raises(FileNotFoundError, match="MIC_DATA_MIRROR"):
        fetch_file(raw, "demo", tmp_path / "file.bin", None)


def test_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured, chosen = tmp_path / "a", tmp_path / "b"
    configured.mkdir(), chosen.mkdir()
    monkeypatch.setenv(download.MIRROR_ENV, str(chosen))
    assert resolve_mirror(str(configured)) == chosen
    monkeypatch.delenv(download.MIRROR_ENV)
    assert resolve_mirror(str(configured)) == configured
    assert resolve_mirror(str(tmp_path / "absent")) is None


def test_real_mirror_copies_verify(tmp_path: Path, shared_data: Path) -> None:
    record = fetch_source("character_trajectories", tmp_path, shared_data)
    assert record["mixout.mat"]["copy"] == "mixout_mirror_labeled.mat"
    record = fetch_source("mnist", tmp_path, shared_data)
    assert sorted(record) == sorted(f.target for f in download.SOURCES["mnist"])
