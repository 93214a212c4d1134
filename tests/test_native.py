"""zoo.native: a plugin's C++ extension, or None and one log line; ZOO_NATIVE=0; a killed build's lock."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from zoo import native


def test_no_compiler_falls_back_with_one_log_line(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("ZOO_NATIVE", "1")
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    monkeypatch.setattr(native, "_loaded", {})
    with caplog.at_level(logging.WARNING, logger="zoo.native"):
        assert native.load_extension("zoo_test_missing", tmp_path / "none.cpp") is None
        assert native.load_extension("zoo_test_missing", tmp_path / "none.cpp") is None  # asked once per process
    assert len(caplog.records) == 1 and "no C++ compiler" in caplog.records[0].getMessage()
    monkeypatch.setenv("ZOO_NATIVE", "0")
    assert native.load_extension("anything", tmp_path / "none.cpp") is None


def test_a_killed_builds_lock_is_cleared_and_a_running_ones_kept(monkeypatch, tmp_path):
    from torch.utils import cpp_extension

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    folder = Path(cpp_extension._get_build_directory("zoo_test_lock", verbose=False))
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / "lock"
    lock.touch()
    native._clear_stale_lock("zoo_test_lock")
    assert lock.exists()  # a build may be running: torch's waiting is right
    os.utime(lock, (0, 0))
    native._clear_stale_lock("zoo_test_lock")
    assert not lock.exists()  # left by a killed build: torch would wait for it forever
