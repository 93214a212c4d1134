"""The core's own plugin: the ``independent`` baseline, the bundled datasets, the default trainer and evaluator."""

from __future__ import annotations

from ..evaluation import DefaultEvaluator
from ..hookspecs import hookimpl
from ..specs import PretrainedEntry
from ..training import DefaultTrainer
from .datasets import BUILTIN_DATASETS
from .independent import Independent


@hookimpl
def zoo_register_models(register):
    register(Independent)


@hookimpl
def zoo_register_pretrained(register):
    for dataset in ("digits", "digits-binarized"):
        name = f"independent-{dataset}"
        register(
            PretrainedEntry(
                name=name,
                architecture="independent",
                dataset=dataset,
                description=f"Per-pixel baseline on {dataset}: the row every likelihood table starts from.",
                bundled=name,
                recipe=f"zoo train independent --dataset {dataset} --epochs 30 --set lr=0.05 --out {name}"
                f" && zoo eval {name} --dataset {dataset} --save",
            )
        )


@hookimpl
def zoo_register_datasets(register):
    for name, spec in BUILTIN_DATASETS.items():
        register(name, **spec)


@hookimpl
def zoo_register_evaluators(register):
    register("default", DefaultEvaluator)


@hookimpl
def zoo_register_trainers(register):
    register("default", DefaultTrainer)
