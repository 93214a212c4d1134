"""`--device` on `zoo eval`, `sample` and `complete` (CUDA itself is checked by tests/_gpu_check.py)."""

import pytest
import torch

from zoo.cli import main


@pytest.fixture
def folder(tmp_path):
    assert (
        main(
            [
                "create",
                "independent",
                "--out",
                str(tmp_path / "m"),
                "--set",
                "levels=17",
                "--set",
                "height=8",
                "--set",
                "width=8",
            ]
        )
        == 0
    )
    return tmp_path / "m"


def test_device_option_on_eval_sample_complete(folder, tmp_path, capsys):
    assert main(["sample", str(folder), "--n", "4", "--out", str(tmp_path / "s.png"), "--device", "cpu"]) == 0
    assert main(["sample", str(folder), "--n", "4", "--out", str(tmp_path / "a.png"), "--device", "auto"]) == 0
    assert (
        main(
            [
                "complete",
                str(folder),
                "--dataset",
                "digits",
                "--n",
                "2",
                "--samples",
                "1",
                "--out",
                str(tmp_path / "c.png"),
                "--device",
                "auto",
            ]
        )
        == 0
    )
    assert main(["eval", str(folder), "--dataset", "digits", "--json", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["sample", str(folder), "--device", "tpu9"]) == 2
    assert "--device must be cpu, cuda, cuda:N or auto" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["eval", str(folder), "--dataset", "digits", "--device", "cuda"]) == 2
        assert "no CUDA device is available" in capsys.readouterr().err
