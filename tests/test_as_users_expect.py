"""What a timm or diffusers user expects of zoo (issue 32.3-32.8): byte-identical saves, exact or bound from the
model's own estimator, the ecosystem's vocabulary, publishing that says what happened, CLI habits."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from safetensors import safe_open

import zoo
from zoo.weights import WEIGHTS_FILE, canonical_safetensors, save_tensors


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_model_saved_twenty_times_gives_one_sha256(tmp_path):
    """safetensors writes its metadata in hash-map order: before issue 32 two saves could differ in bytes."""
    torch.manual_seed(0)
    model = zoo.create("independent", levels=4, height=3, width=3)
    digests = {_sha(zoo.save_pretrained(model, tmp_path / f"m{i}") / WEIGHTS_FILE) for i in range(20)}
    assert len(digests) == 1
    configs = {_sha(tmp_path / f"m{i}" / "config.json") for i in range(20)}
    assert len(configs) == 1


def test_a_canonical_file_reads_back_the_same_tensors_and_metadata(tmp_path):
    tensors = {"b": torch.arange(5, dtype=torch.float32), "a": torch.ones(2, 3, dtype=torch.int64)}
    metadata = {f"key{i}": str(i) for i in range(12)}
    path = tmp_path / "t.safetensors"
    save_tensors(tensors, path, metadata=metadata)
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata() == metadata
        assert all(torch.equal(f.get_tensor(k), v) for k, v in tensors.items())
    data = path.read_bytes()
    assert canonical_safetensors(data) == data  # already canonical: a fixed point
    assert int.from_bytes(data[:8], "little") % 8 == 0
    header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    assert list(header["__metadata__"]) == sorted(metadata)


class ExactFlat(zoo.Model):
    """An exact model that is not autoregressive (as a flow is): one categorical table, sampled all at once."""

    architecture = "exact-flat"

    def __init__(self, config):
        super().__init__(config)
        self.table = torch.nn.Parameter(torch.zeros(config.levels, *config.shape))

    def log_prob(self, x, labels=None):
        logp = torch.log_softmax(self.table, 0).unsqueeze(0).expand(x.shape[0], -1, -1, -1, -1)
        return logp.gather(1, x.long().unsqueeze(1)).squeeze(1).flatten(1).sum(1)

    def loss(self, x, labels=None):
        return -self.log_prob(x).mean()

    def sample(self, n, generator=None, temperature=1.0, labels=None):
        probs = torch.softmax(self.table / temperature, 0).movedim(0, -1).reshape(-1, self.config.levels)
        draws = torch.multinomial(probs, n, replacement=True, generator=generator)
        return draws.T.reshape(n, *self.config.shape)


class ExactFlatPlugin:
    @zoo.hookimpl
    def zoo_register_models(self, register):
        register(ExactFlat)


def test_an_exact_model_that_is_not_autoregressive_is_called_exact_on_its_card(tmp_path):
    """Before issue 32 the card asked the autoregressive flag: every other model was 'a lower bound'."""
    from zoo.cards import write_model_card

    zoo.register_plugin(ExactFlatPlugin(), "exact-flat-plugin")
    try:
        model = ExactFlat(zoo.ModelConfig(levels=2, height=3, width=3))
        folder = zoo.save_pretrained(model, tmp_path / "m", dataset="digits-binarized")
        text = write_model_card(folder, samples=False, completions=False).read_text()
        assert "`log_prob` is the exact log-likelihood" in text and "lower bound" not in text
    finally:
        zoo.unregister_plugin("exact-flat-plugin")


def test_list_models_pretrained_lists_only_what_loads():
    names = zoo.list_models(pretrained=True)
    assert "pixelcnn-digits" in names and "pixelcnn-cifar10" not in names  # no weights published yet
    every = zoo.get_registry().list_models("*", True)
    assert "pixelcnn-cifar10" in every  # `zoo list --pretrained` still shows it, with its recipe


def test_create_with_pretrained_true_loads_the_named_model():
    model = zoo.create("independent-digits", pretrained=True)
    assert model.pretrained_cfg["name"] == "independent-digits" and model.pretrained_cfg["source"] == "bundled"
    with pytest.raises(zoo.ArgumentError, match="'independent' is an architecture; .*independent-digits"):
        zoo.create("independent", pretrained=True)
    with pytest.raises(zoo.ConfigError, match="cannot set levels"):
        zoo.create("independent-digits", pretrained=True, levels=3)


def test_torch_dtype_is_an_alias_of_dtype():
    model = zoo.load("independent-digits", torch_dtype=torch.bfloat16)
    assert model.logit_table.dtype == torch.bfloat16
    assert zoo.Model.from_pretrained("independent-digits", torch_dtype="float16").logit_table.dtype == torch.float16
    with pytest.raises(zoo.ArgumentError, match="disagree"):
        zoo.load("independent-digits", dtype=torch.float32, torch_dtype=torch.float16)


def test_pretrained_cfg_says_where_a_model_came_from(tmp_path):
    model = zoo.load("independent-digits")
    cfg = model.pretrained_cfg
    entry = zoo.get_registry().entry("independent-digits")
    assert cfg["sha256"] == entry.sha256 and cfg["recipe"] == entry.recipe and cfg["dataset"] == "digits"
    assert cfg["metrics"]["test"]["n_images"] == 360 and cfg["architecture"] == "independent"
    folder = zoo.save_pretrained(model, tmp_path / "copy")
    again = zoo.load(folder).pretrained_cfg
    assert again["source"] == "folder" and again["sha256"] == _sha(folder / WEIGHTS_FILE)
    assert zoo.create("independent", levels=2, height=2, width=2).pretrained_cfg == {}


def test_save_pretrained_pushes_to_the_hub_when_asked(fake_hub, tmp_path, tiny_model):
    model = tiny_model(1)
    folder = model.save_pretrained(tmp_path / "mine", push_to_hub=True, repo_id="alice/mine")
    assert (folder / WEIGHTS_FILE).is_file() and "alice/mine" in fake_hub.repos
    zoo.save_pretrained(model, tmp_path / "alice-two", push_to_hub=True, repo_id="alice/two")
    assert "alice/two" in fake_hub.repos
    with pytest.raises(zoo.ArgumentError, match="add push_to_hub=True"):
        model.save_pretrained(tmp_path / "x", repo_id="alice/x")
    loaded = zoo.load("hf-hub:alice/mine")  # timm's prefix, beside hf://
    assert loaded.pretrained_cfg["source"] == "hub" and loaded.pretrained_cfg["repo_id"] == "alice/mine"


def test_cards_name_the_hubs_dataset_id(tmp_path, tiny_model):
    from zoo.cards import card_data

    model = zoo.create("independent", levels=2, height=3, width=3)
    folder = zoo.save_pretrained(model, tmp_path / "m", dataset="binarized-mnist", metrics={})
    assert card_data(folder).datasets == ["ylecun/mnist"]
    digits = zoo.save_pretrained(model, tmp_path / "d", dataset="digits-binarized")
    assert card_data(digits).datasets == ["digits-binarized"]  # no Hub id known: the zoo name


def _pushed_card(fake_hub, repo_id, revision="main") -> str:
    from huggingface_hub import hf_hub_download

    return open(hf_hub_download(repo_id, "README.md", revision=revision)).read()


def test_publishing_says_what_happened(fake_hub, tmp_path, capsys):
    """Issue 32.6: the card figures exactly the files pushed, is named after the repo, and its usage names the
    revision; the printed entry carries the recorded command as its recipe."""
    from zoo.cli import main

    out = tmp_path / "ft2"
    zoo.train("independent", "digits", out, settings={"progress": False}, epochs=1, final_eval=True)
    assert (out / "completions.png").is_file() and (out / "samples.png").is_file()
    assert main(["push", str(out), "--repo", "alice/ind-ft"]) == 0
    assert "recipe='zoo train independent --dataset digits" in capsys.readouterr().out
    card = _pushed_card(fake_hub, "alice/ind-ft")
    assert "](completions.png)" in card and card.count("# alice/ind-ft\n") == 1 and "# ft2\n" not in card
    assert "name: alice/ind-ft" in card  # model-index

    (out / "completions.png").unlink()
    (out / "curves.png").unlink()
    assert main(["push", str(out), "--repo", "alice/ind-ft", "--revision", "v1"]) == 0
    card = _pushed_card(fake_hub, "alice/ind-ft", "v1")
    assert "completions.png" not in card and "## Completions" not in card and "curves.png" not in card
    assert "](samples.png)" in card and "## Results" in card
    assert 'zoo.load("alice/ind-ft", revision="v1")' in card


class Big:
    """A 1x20x20 binary dataset (more than CARD_FIGURE_DIMS values), random but seeded."""

    @zoo.hookimpl
    def zoo_register_datasets(self, register):
        from zoo.data import ImageSet

        def loader(split):
            g = torch.Generator().manual_seed(len(split))
            images = (torch.rand(24, 1, 20, 20, generator=g) < 0.3).to(torch.uint8)
            return ImageSet(images, None, 2, "big", split)

        register("big", loader, description="random 20x20 binary images")


def test_zoo_train_leaves_samples_and_completions_beside_its_card_for_large_images(tmp_path):
    """Before issue 32 only images of at most 256 values got their grids at the end of `zoo train`, though a
    fast sampler draws 28x28 grids in about a second."""
    from zoo.cli import main

    zoo.register_plugin(Big(), "big-plugin")
    try:
        out = tmp_path / "run"
        argv = ["train", "independent", "--dataset", "big", "--epochs", "1", "--out", str(out)]
        assert main([*argv, "--set", "progress=false"]) == 0
        card = (out / "README.md").read_text()
        assert (out / "samples.png").is_file() and "](samples.png)" in card
        assert (out / "completions.png").is_file() and "](completions.png)" in card
    finally:
        zoo.unregister_plugin("big-plugin")


def test_exit_codes_tell_usage_errors_from_runtime_errors(tmp_path, capsys):
    """Issue 32.8: 2 for what was typed wrong, 1 for a world that is not as the command needs it."""
    from zoo.cli import main

    assert main(["info", "independant"]) == 2  # an unknown name
    assert main(["create", "independent", "--out", str(tmp_path / "m"), "--set", "levels=1"]) == 2  # a bad setting
    assert main(["eval", "independent-digits", "--data-option", "bogus=1"]) == 2  # an option the data lacks
    assert main(["sample", str(tmp_path / "nothere" / "m"), "--out", str(tmp_path / "s.png")]) == 1  # no folder
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    assert main(["eval", str(tmp_path / "broken")]) == 1  # a corrupt file
    assert zoo.WeightsError.exit_code == 1 and zoo.ArgumentError.exit_code == 2


def test_did_you_mean_spans_architectures_pretrained_names_and_datasets(tmp_path, capsys):
    from zoo.cli import main

    assert main(["download", "mnst"]) == 2
    assert "did you mean 'mnist'" in capsys.readouterr().err
    assert main(["train", "pixelcnn-digit", "--out", str(tmp_path / "a")]) == 2
    assert "'pixelcnn-digits'" in capsys.readouterr().err
    assert main(["train", "independant", "--dataset", "digits", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "unknown architecture or pretrained model 'independant'" in err and "'independent'" in err
    assert main(["create", "independent", "--set", "levls=3", "--out", str(tmp_path / "c")]) == 2
    assert "did you mean 'levels'" in capsys.readouterr().err


def test_every_verb_shows_an_example_and_plugins_speaks_json(capsys):
    import contextlib

    from zoo.cli import EXAMPLES, build_parser, main

    verbs = build_parser()._subparsers._group_actions[0].choices
    assert set(verbs) == set(EXAMPLES)
    for name, parser in verbs.items():
        assert f"example:\n  {EXAMPLES[name]}" in parser.format_help(), name
    with contextlib.suppress(SystemExit):
        main(["plugins", "--json"])
    plugins = json.loads(capsys.readouterr().out)
    assert any(p["name"] == "zoo-builtin" for p in plugins)


@pytest.mark.slow
def test_python_dash_m_zoo_runs_the_command_line():
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "zoo", "--version"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("zoo ")


def test_info_says_published_only_for_a_model_on_the_hub():
    """Issue 32.9: digits models (no Hub repo) said published: True, the bundled MNIST ones False."""
    assert zoo.model_info("pixelcnn-digits")["published"] is False
    reg = zoo.get_registry()
    on_hub = [n for n, p in reg.pretrained.items() if p.entry.repo_id and p.entry.published]
    assert all(zoo.model_info(n)["published"] for n in on_hub)


def test_a_refused_push_is_one_line_naming_the_repo_and_privacy_is_reported(fake_hub, tmp_path, tiny_model, capsys):
    from zoo.cli import main

    folder = zoo.save_pretrained(tiny_model(1), tmp_path / "m")
    assert main(["push", str(folder), "--repo", "bad_repo_name"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'bad_repo_name'" in err and "ORG/NAME" in err and "/api/models" not in err
    assert main(["push", str(folder), "--repo", "alice/pub"]) == 0
    assert not fake_hub.repos["alice/pub"].private
    capsys.readouterr()
    assert main(["push", str(folder), "--repo", "alice/pub", "--private"]) == 0
    assert "alice/pub is private" in capsys.readouterr().out and fake_hub.repos["alice/pub"].private


def test_every_verb_that_reports_takes_json(tmp_path, capsys, fake_hub):
    """Issue 32.8: before, only list, info and eval took --json (`zoo plugins --json` was refused)."""
    from zoo.cli import build_parser, main

    verbs = build_parser()._subparsers._group_actions[0].choices
    for name, parser in verbs.items():
        assert any("--json" in a.option_strings for a in parser._actions), f"zoo {name} has no --json"
    out = tmp_path / "m"
    assert main(["create", "independent", "--out", str(out), "--set", "levels=2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(out), "architecture": "independent", "parameters": 128}
    assert main(["sample", str(out), "--n", "2", "--out", str(tmp_path / "s.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2
    assert main(["push", str(out), "--repo", "alice/j", "--json"]) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["repo_id"] == "alice/j" and pushed["entry"]["sha256"] == _sha(out / WEIGHTS_FILE)
