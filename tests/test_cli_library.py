"""What the command line leaves to the library (issue 23.7): batched sampling, the demo's model, the entry
`zoo push` prints. Each is called here as a Python user would, without the command line."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.api import best_bundled, model_info
from zoo.errors import ArgumentError
from zoo.sampling import sample_in_batches, step_work


def test_sampling_in_batches_splits_labels_and_bounds_the_batch(monkeypatch):
    model = zoo.create("independent", height=2, width=2, levels=3)
    sizes = []
    real = model.sample
    monkeypatch.setattr(model, "sample", lambda n, **kw: sizes.append(n) or real(n, **kw))
    images = sample_in_batches(model, 7, batch_size=3, generator=torch.Generator().manual_seed(0))
    assert images.shape == (7, 1, 2, 2) and sizes == [3, 3, 1]
    with pytest.raises(ArgumentError, match="batch_size must be at least 1"):
        sample_in_batches(model, 2, batch_size=0)
    assert step_work(model, 4) == 4 * 4 * 64  # no integer hidden: counted as 64 maps


def test_the_demo_model_is_chosen_by_a_rule():
    name = best_bundled()
    info = model_info(name)
    assert info["bundled"] and zoo.get_registry().model(info["architecture"]).cls.autoregressive
    config = info["config"]
    assert config["channels"] * config["height"] * config["width"] <= zoo.api.CARD_FIGURE_DIMS
    assert best_bundled(max_dims=0) is None


def test_a_printed_entry_is_python_that_gives_the_entry_back():
    entry = zoo.PretrainedEntry(
        name="x", architecture="a", dataset="d", dataset_options={"dynamic": True}, repo_id="o/x", sha256="0" * 64
    )
    text = entry.python()
    assert text.startswith("zoo.PretrainedEntry(\n    name='x',") and "revision" not in text  # only what was given
    assert eval(text, {"zoo": zoo}) == entry


def test_info_takes_a_hub_repo_as_zoo_load_does(fake_hub, tiny_model, capsys):
    """`zoo info` asks zoo.sources whether a name is a Hub repo, so hf://org/name works there as in zoo.load."""
    import json

    from zoo.cli import main

    zoo.push_to_hub(tiny_model(7), "alice/info")
    for name in ("alice/info", "hf://alice/info"):
        assert main(["info", name, "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert (info["kind"], info["repo_id"], info["architecture"]) == ("hub", "alice/info", "independent")
