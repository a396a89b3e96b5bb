"""Atomic replacement: a failed writer leaves the old file whole and no temporary beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.files import atomic_write, replacing


def test_a_failed_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.parquet"
    atomic_write(target, "old")
    with pytest.raises(OSError, match="disk full"):
        with replacing(target) as tmp:
            tmp.write_bytes(b"half a fi")
            raise OSError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.parquet"]


def test_a_finished_writer_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "dense.faiss"
    with replacing(target) as tmp:
        assert tmp.parent == target.parent and not target.exists()
        tmp.write_bytes(b"\x00index")
    assert target.read_bytes() == b"\x00index"
    assert [p.name for p in target.parent.iterdir()] == ["dense.faiss"]
