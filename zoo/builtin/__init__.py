"""The core's own plugin: the ``independent`` baseline, the bundled datasets, the default trainer and evaluator."""

from __future__ import annotations

from ..hookspecs import hookimpl
from .independent import Independent


@hookimpl
def zoo_register_models(register):
    register(Independent)


@hookimpl
def zoo_register_datasets(register):
    from ..data import BUILTIN_DATASETS

    for name, spec in BUILTIN_DATASETS.items():
        register(name, spec["loader"], description=spec["description"], levels=spec["levels"], shape=spec["shape"])


@hookimpl
def zoo_register_evaluators(register):
    from ..evaluation import DefaultEvaluator

    register("default", DefaultEvaluator)


@hookimpl
def zoo_register_trainers(register):
    from ..training import DefaultTrainer

    register("default", DefaultTrainer)
