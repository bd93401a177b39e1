"""Atomic output: a file appears whole under its name or not at all, with a plain file's
permissions, and no temporary file is left behind."""

from __future__ import annotations

import os
import stat

import pytest
from recforge._atomic import atomic_output, atomic_path


def test_atomic_output_never_sets_the_umask_and_gives_a_plain_files_permissions(tmp_path, monkeypatch):
    """The permissions of a new file were learnt by setting the process's umask to 0 and back:
    a thread creating a file meanwhile (a server, say) made it world-writable."""
    umask = os.umask(0o022)
    os.umask(umask)
    calls = []
    real = os.umask
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or real(mask))
    with atomic_output(tmp_path / "new.txt", "w") as f:
        f.write("x")
    assert calls == []
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o666 & ~umask
    os.chmod(tmp_path / "new.txt", 0o640)
    with atomic_output(tmp_path / "new.txt", "w") as f:  # replaced: keeps its permissions
        f.write("y")
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    assert (tmp_path / "new.txt").read_text() == "y" and sorted(os.listdir(tmp_path)) == ["new.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    (tmp_path / "out.csv").write_text("old")
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "out.csv", "w") as f:
        f.write("half")
        raise RuntimeError("killed")
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "new.parquet") as tmp:
        with open(tmp, "w") as f:
            f.write("half")
        raise KeyboardInterrupt
    assert sorted(os.listdir(tmp_path)) == ["out.csv"] and (tmp_path / "out.csv").read_text() == "old"
