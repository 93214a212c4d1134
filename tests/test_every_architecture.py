"""The contract kit over every registered architecture, whatever plugin brings it (as timm tests every model).

Each is built at its smallest useful size (4x4 binary images, a few units), so the whole sweep stays fast;
the plugins' own tests cover colour images, more levels and their special features.
"""

import pytest

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
