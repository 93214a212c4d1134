"""Thread counts sized to the work and the free cores; --threads overrides and is checked where it enters."""

from __future__ import annotations

import pytest
import torch

import zoo.threads as zt
from zoo.cli import main
from zoo.errors import ArgumentError


def test_small_work_gets_one_thread_and_large_work_the_free_cores(monkeypatch):
    monkeypatch.setattr(zt, "_cores", lambda: 8)
    monkeypatch.setattr(zt.os, "getloadavg", lambda: (3.2, 0, 0))
    assert zt.pick_threads("auto", zt.SMALL_WORK - 1) == 1
    assert zt.pick_threads(None, zt.SMALL_WORK * 10) == 6  # 8 cores, 3 busy, and this process's own load
    monkeypatch.setattr(zt.os, "getloadavg", lambda: (40.0, 0, 0))
    assert zt.pick_threads("auto", zt.SMALL_WORK * 10) == 1
    assert zt.pick_threads("3", 0) == 3 and zt.pick_threads(2, 0) == 2


@pytest.mark.parametrize("bad", [0, -1, "x", 1.5, True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ArgumentError, match="threads must be a positive integer or auto"):
        zt.pick_threads(bad, 0)


def test_sample_sets_the_thread_count(tmp_path, capsys):
    before = torch.get_num_threads()
    try:
        assert main(["sample", "independent-digits", "--n", "2", "--out", str(tmp_path / "s.png")]) == 0
        assert torch.get_num_threads() == 1  # two 8x8 images: one thread
        assert main(["sample", "independent-digits", "--threads", "0", "--out", str(tmp_path / "s.png")]) == 2
        assert "--threads must be a positive integer or auto, got 0" in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)
