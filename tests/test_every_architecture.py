"""The contract kit over every registered architecture, whatever plugin brings it (as timm tests every model).

Each is built at its smallest useful size (4x4 binary images, a few units), so the whole sweep stays fast;
the plugins' own tests cover colour images, more levels and their special features.
"""

import pytest
import torch

import zoo
from zoo.registry import get_registry
from zoo.testing import check_model

SMALL = {"hidden": 4, "layers": 1, "out_hidden": 8, "latent": 2, "eval_samples": 10}


def small_config(arch: str) -> dict:
    fields = get_registry().model(arch).cls.config_class.model_fields
    config = {"height": 4, "width": 4, "levels": 2}
    for name, value in SMALL.items():
        if name in fields:
            default = fields[name].get_default(call_default_factory=True)
            config[name] = [8] if isinstance(default, list) else value
    return config


@pytest.mark.parametrize("arch", zoo.list_models())
def test_architecture_keeps_the_contract(arch):
    check_model(arch, **small_config(arch))


@pytest.mark.parametrize("arch", zoo.list_models())
def test_signatures_follow_the_model_contract(arch):
    """``labels`` is in every model's signatures (loss, log_prob, sample; logits and incremental_sampler of
    autoregressive ones), an unconditional model refuses labels, and a fast sampler follows the Protocol."""
    import inspect

    from zoo.sampling import IncrementalSampler

    model = zoo.create(arch, **small_config(arch))
    methods = ["loss", "log_prob", "sample"] + (["logits", "incremental_sampler"] if model.autoregressive else [])
    for name in methods:
        assert "labels" in inspect.signature(getattr(model, name)).parameters, f"{arch}.{name} takes no labels"
    assert model.pretrained_info == {} and not model.conditional
    x = model.sample(2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(zoo.ZooError, match="unconditional"):
        model.log_prob(x, labels=torch.tensor([0, 1]))
    with pytest.raises(zoo.ZooError, match="unconditional"):
        model.sample(2, labels=torch.tensor([0, 1]))
    if model.autoregressive:
        fast = model.incremental_sampler(2)
        assert fast is None or isinstance(fast, IncrementalSampler)


@pytest.mark.parametrize("arch", zoo.list_models())
def test_a_hostile_folder_costs_nothing(arch):
    """A config.json asking for the largest valid model beside tiny weights: refused in one line, nothing big
    allocated (every tensor torch makes is watched), within seconds; the honest folder still loads."""
    from zoo.testing import check_hostile_folder

    found = check_hostile_folder(arch, small_config(arch))
    assert found["claimed_weights"] > 10**7 and found["largest_tensor_bytes"] < 1 << 20
    assert "model.safetensors" in found["message"]


@pytest.mark.parametrize("arch", zoo.list_models())
def test_every_architecture_builds_on_the_meta_device(arch):
    """Sizing an untrusted config needs the meta build: the same state dict names, shapes and dtypes as for real."""
    from zoo.building import meta_model

    cls = get_registry().model(arch).cls
    config = cls.config_class(**small_config(arch))
    meta, real = meta_model(cls, config).state_dict(), cls(config).state_dict()
    assert {k: (v.shape, v.dtype) for k, v in meta.items()} == {k: (v.shape, v.dtype) for k, v in real.items()}
    assert all(v.is_meta for v in meta.values())
