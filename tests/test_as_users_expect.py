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
