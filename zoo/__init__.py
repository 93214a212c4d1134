"""zoo: a plugin-based model zoo for generative image models.

import zoo
zoo.list_models("pixel*")               # architectures plugins registered
model = zoo.load("pixelcnn-digits")     # pretrained weights, bundled or from the Hub
fresh = zoo.create("pixelcnn", levels=2)

``import zoo`` imports no Hub, HTTP or publishing module: ``zoo.push_to_hub`` and the submodules
``zoo.hub``, ``zoo.publish``, ``zoo.transfer`` and ``zoo.cards`` are imported the first time they are
named (the ``__getattr__`` below), so a local load never pays for huggingface_hub.
"""

from __future__ import annotations

from .plugins import paused_gc  # first: zoo.plugins is the function api.plugins below

with paused_gc():  # importing torch, zoo's modules and their pydantic models: see zoo.plugins.paused_gc
    from ._version import __version__
    from .api import (
        create,
        evaluate,
        list_models,
        load,
        load_dataset,
        model_info,
        plugins,
        save_pretrained,
        train,
    )
    from .errors import (
        ArgumentError,
        ConfigError,
        DatasetError,
        HubError,
        ImageError,
        PluginError,
        UnknownNameError,
        WeightsError,
        ZooError,
    )
    from .folders import bundled_entry
    from .hookspecs import hookimpl
    from .interfaces import AutoregressiveModel, Evaluator, Model, ModelConfig, Trainer
    from .options import DatasetOption
    from .registry import get_registry, register_plugin, unregister_plugin
    from .reproduction import reproduce
    from .specs import PretrainedEntry
    from .weights import load_folder
del paused_gc

#: the Hub's modules, imported on first use: ``zoo.hub`` works after ``import zoo`` as before
LAZY_MODULES = ("hub", "publish", "transfer", "cards")


def __getattr__(name: str):
    """``zoo.push_to_hub`` and ``zoo.hub`` (...) without importing huggingface_hub with the package."""
    import importlib

    if name == "push_to_hub":
        return importlib.import_module(".api", __name__).push_to_hub
    if name in LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), "push_to_hub", *LAZY_MODULES})


__all__ = [
    "__version__",
    "hookimpl",
    "Model",
    "AutoregressiveModel",
    "ModelConfig",
    "Trainer",
    "Evaluator",
    "PretrainedEntry",
    "bundled_entry",
    "DatasetOption",
    "get_registry",
    "load_folder",
    "list_models",
    "model_info",
    "create",
    "load",
    "load_dataset",
    "evaluate",
    "train",
    "reproduce",
    "save_pretrained",
    "push_to_hub",
    "plugins",
    "register_plugin",
    "unregister_plugin",
    "ZooError",
    "ConfigError",
    "ArgumentError",
    "ImageError",
    "UnknownNameError",
    "WeightsError",
    "PluginError",
    "DatasetError",
    "HubError",
]
