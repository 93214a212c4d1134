"""zoo: a plugin-based model zoo for generative image models.

import zoo
zoo.list_models("pixel*")               # architectures plugins registered
model = zoo.load("pixelcnn-digits")     # pretrained weights, bundled or from the Hub
fresh = zoo.create("pixelcnn", levels=2)
"""

from __future__ import annotations

from ._version import __version__
from .api import (
    create,
    evaluate,
    list_models,
    load,
    load_dataset,
    model_info,
    plugins,
    push_to_hub,
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
