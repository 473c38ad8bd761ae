"""Atomic writes and writable folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamseg.errors import ModelError, SinkError
from streamseg.fileio import atomic_write, ensure_writable_dir


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_a_folder_the_kernel_refuses_fails_even_for_root():
    # os.access says yes to root in /proc; a real write says no, before the run.
    with pytest.raises(SinkError, match="/proc is not writable"):
        ensure_writable_dir(Path("/proc"))


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch):
    import errno
    import os

    path = tmp_path / "model.pt"
    atomic_write(path, b"old")

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ModelError, match=r"cannot write checkpoint .*model.pt: No space left"):
        atomic_write(path, b"new", ModelError, "checkpoint")
    assert path.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [path]
