"""The default Evaluator: mean NLL in nats per image and bits per dimension, one split at a time.

:func:`bits_per_dim` is the one conversion every model's numbers go through. A model that
has more to report (a VAE's ELBO next to its importance-weighted bound, say) defines
``metrics(x) -> dict[str, Tensor (B,)]`` of per-image nats; their means land in ``extra``.
"""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from .bounds import estimator_of
from .data import ImageSet, check_compatible
from .errors import ConfigError, DatasetError, WeightsError
from .interfaces import Evaluator, Model
from .weights import CONFIG_FILE, atomic_write_json, read_config

__all__ = [
    "bits_per_dim",
    "EvalResult",
    "DefaultEvaluator",
    "importance_k",
    "check_bound_work",
    "record_metrics",
    "check_compatible",
]


def bits_per_dim(nll_nats, dims: int):
    """Negative log-likelihood in nats per image -> bits per dimension: ``nll / (dims * ln 2)``.

    Works on floats and tensors; ``dims`` is C*H*W.
    """
    return nll_nats / (dims * math.log(2.0))


class EvalResult(BaseModel):
    """One model on one split; ``model_dump()`` is what config.json stores under ``metrics[split]``."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    split: str
    n_images: int = Field(ge=0)
    nll_nats: float = Field(description="mean negative log-likelihood (or bound) in nats per image")
    bits_per_dim: float
    extra: dict[str, float] = Field(default_factory=dict)
    k: int | None = Field(
        None, description="samples of a latent-variable model's importance-weighted bound; None: an exact likelihood"
    )
    bound: bool = Field(False, description="nll_nats is an upper bound on the NLL (a latent-variable model)")
    estimator: str | None = Field(None, description="the bound's estimator, e.g. 'IWAE k=500'")
    options: dict[str, Any] = Field(
        default_factory=dict, description="dataset options of the evaluated data (dynamic=, seed=, limit= ...)"
    )

    @property
    def key(self) -> str:
        """Where config.json keeps this result: the split, or ``test[:500]`` for the first 500 images."""
        limit = self.options.get("limit")
        return f"{self.split}[:{limit}]" if limit else self.split


def label_kwargs(model: Model, data: ImageSet, index, device) -> dict[str, Any]:
    """``{"labels": ...}`` for the images ``data.images[index]`` when the model is conditional, else ``{}``."""
    return {"labels": data.labels[index].to(device)} if model.conditional else {}


MAX_K = 1_000_000  # samples of an importance-weighted bound: the configs' eval_samples bound
MAX_BOUND_WORK = 10**12  # k x images x values of a bound: k=5000 on MNIST's test split is 3.9e10


def check_bound_work(k: int | None, images: int, dims: int) -> None:
    """Refuse a bound whose work (``k`` draws per image, each over ``dims`` values) would run for days:
    ``zoo eval --k 1000000000`` ran on with its memory growing."""
    if k is not None and k * images * dims > MAX_BOUND_WORK:
        raise ConfigError(
            f"k={k} on {images:,} images of {dims:,} values is {k * images * dims:.2g} sample-values, more than "
            f"{MAX_BOUND_WORK:.0e}; lower k or evaluate fewer images (--limit)"
        )


def importance_k(model: Model, k: int | None = None) -> int | None:
    """The k of ``model``'s importance-sampled bound: ``k``, else its default; None for an exact likelihood.

    A latent-variable model says it has one by taking ``k`` in ``log_prob`` (the VAEs do); its
    default is that argument's, else the config's ``eval_samples``. Asking an exact model for a k
    is an error, not a silently ignored option.
    """
    param = inspect.signature(model.log_prob).parameters.get("k")
    if param is None:
        if k is not None:
            raise ConfigError(
                f"{model.architecture} has no importance-sampling k (its log_prob is an exact likelihood); "
                "evaluate it without k"
            )
        return None
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive integer (samples of the bound), got {k!r}")
        if k > MAX_K:
            raise ConfigError(f"k={k} is more than {MAX_K:,} samples of the bound (the IWAE paper's largest is 5000)")
        return k
    return param.default if isinstance(param.default, int) else getattr(model.config, "eval_samples", None)


class DefaultEvaluator(Evaluator):
    """NLL from ``model.log_prob`` in eval mode without gradients, summed in float64."""

    name = "default"

    def evaluate(
        self,
        model: Model,
        data: ImageSet,
        batch_size: int = 256,
        progress: bool = False,
        k: int | None = None,
        metrics: bool = True,
        **kwargs: Any,
    ) -> EvalResult:
        """``k``: the importance-sampled bound's samples for a latent-variable model (see :func:`importance_k`).

        ``metrics=False`` measures the NLL alone, without the model's own ``metrics``: validation during
        training, which needs only the NLL, would spend time on them and, for a latent-variable model,
        random draws that move the next batch's estimate.
        """
        used_k = importance_k(model, k)
        bound = {"k": k} if k is not None else {}
        if kwargs:
            raise TypeError(f"DefaultEvaluator.evaluate() got unknown option(s) {', '.join(sorted(kwargs))}")
        check_compatible(model, data)
        check_bound_work(used_k, len(data), model.config.dims)
        if len(data) == 0:
            raise DatasetError(f"{data.name}/{data.split} has no images to evaluate")
        device = model.device
        was_training = model.training
        model.eval()
        sums: dict[str, float] = {}
        has_metrics = metrics and callable(getattr(model, "metrics", None))
        batches = range(0, len(data), batch_size)
        if progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"eval {data.name}/{data.split}", leave=False)
        try:
            with torch.no_grad():
                for start in batches:
                    part = slice(start, start + batch_size)
                    x, labels = data.images[part].to(device), label_kwargs(model, data, part, device)
                    terms = {"nll": -model.log_prob(x, **labels, **bound)}
                    if has_metrics:
                        terms.update(model.metrics(x, **labels))
                    for key, value in terms.items():
                        if value.shape != (len(x),):
                            raise ValueError(
                                f"{model.architecture}: metric {key!r} must have shape ({len(x)},), got "
                                f"{tuple(value.shape)}"
                            )
                        sums[key] = sums.get(key, 0.0) + float(value.double().sum())
        finally:
            model.train(was_training)
        n = len(data)
        nll = sums.pop("nll") / n
        extra: dict[str, float] = {}
        for key, total in sums.items():
            extra[key] = total / n
            extra[f"{key}_bits_per_dim"] = bits_per_dim(total / n, data.dims)
        estimator = estimator_of(model)
        if estimator is not None and used_k is not None:  # the k this evaluation used, not the config's default
            estimator = re.sub(r"k=\d+", f"k={used_k}", estimator)
        return EvalResult(
            dataset=data.name,
            split=data.split,
            n_images=n,
            nll_nats=nll,
            bits_per_dim=bits_per_dim(nll, data.dims),
            extra=extra,
            k=used_k,
            bound=estimator is not None,
            estimator=estimator,
        )


def record_metrics(folder: str | Path, result: EvalResult) -> dict[str, Any]:
    """Store ``result`` in ``folder/config.json`` under ``metrics[result.key]`` (atomic); returns the metrics."""

    meta = read_config(folder)
    metrics = meta.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise WeightsError(f"{Path(folder) / CONFIG_FILE}: 'metrics' must be a JSON object")
    metrics[result.key] = result.model_dump()
    meta["metrics"] = metrics
    atomic_write_json(Path(folder) / CONFIG_FILE, meta)
    return metrics
