"""Every hook a zoo plugin can implement, in one place.

Each hook receives a ``register`` callback and calls it once per thing it contributes;
a plugin implements only the hooks it needs::

    from zoo import hookimpl

    @hookimpl
    def zoo_register_models(register):
        register(MyModel, description="what it is, one line")
"""

from __future__ import annotations

import pluggy

PROJECT = "zoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def zoo_register_models(register):
    """Register architectures: ``register(model_class, description="")``.

    ``model_class`` subclasses :class:`zoo.Model`, with ``architecture`` (the name users
    type) and ``config_class`` (a :class:`zoo.ModelConfig` subclass) set.
    """


@hookspec
def zoo_register_pretrained(register):
    """Register pretrained weights: ``register(zoo.PretrainedEntry(...))``.

    An entry is bundled (package data of the registering plugin, ``<package>/pretrained/<name>/``),
    on the Hugging Face Hub (repo id, revision and the sha256 of its ``model.safetensors``), or both.
    A bundled folder is declared with ``register(zoo.bundled_entry(NAME, sha256=..., description=...))``,
    whose config.json is read the first time the entry is used, not here: registering reads no file.
    """


@hookspec
def zoo_register_datasets(register):
    """Register datasets: ``register(name, loader, description="", levels=..., shape=..., download=None,
    options=None, splits=("train", "val", "test"), files=(), license=None)``.

    ``loader(split, **options)`` returns a :class:`zoo.data.ImageSet`. ``options`` declares what
    ``--data-option`` takes, a list of :class:`zoo.DatasetOption` (name, type, default, description),
    so values are typed and checked where they enter and ``zoo info NAME`` lists them; without it they
    are read from the loader's signature. ``files`` names what the loader looks for in
    ``data_dir()/<name>/``, for ``zoo info``. ``download(folder, force)``,
    when given, fetches the dataset's files into ``folder`` (``data_dir()/<name>``) and checks them;
    ``zoo download NAME`` and :func:`zoo.data.download` call it. ``license`` is the data's Hub licence id
    (``"cc-by-sa-3.0"``): model cards of models trained on it declare it unless ``--license`` says otherwise.
    """


@hookspec
def zoo_register_trainers(register):
    """Register trainers: ``register(name, trainer_class)``, a :class:`zoo.Trainer` subclass."""


@hookspec
def zoo_register_evaluators(register):
    """Register evaluators: ``register(name, evaluator_class)``, a :class:`zoo.Evaluator` subclass."""
