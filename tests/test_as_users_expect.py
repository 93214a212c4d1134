"""What a timm or diffusers user expects of zoo (issue 32.3-32.8): byte-identical saves, exact or bound from the
model's own estimator, the ecosystem's vocabulary, publishing that says what happened, CLI habits."""

from __future__ import annotations

import hashlib
import json

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
