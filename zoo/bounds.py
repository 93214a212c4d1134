"""Exact likelihoods and bounds: which a model's NLL is, and how every output writes it.

A latent-variable model's ``log_prob`` is a lower bound on the log-likelihood, so its NLL is an upper
bound: :func:`format_nll` writes it ``<= 86.28 (IWAE k=500)``, never as a bare number that reads
like an exact likelihood. A model says which through ``Model.nll_estimator(config)``. A leaf module:
the evaluator, the cards and the command line all ask it.

It also holds the one importance-weighted average that every such bound computes (the VAE's IWAE, the
hierarchical VAE's, the flows' dequantization bound), and the check of its ``k``, so that the plugins
differ only in how they draw one batch of log weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .errors import ArgumentError

__all__ = ["draws", "estimator_of", "format_nll", "importance_weighted", "iwae_estimator", "stored_estimator"]


def draws(k: Any, default: int, meaning: str = "") -> int:
    """The number of draws ``k`` of a bound: ``default`` when None, else a positive integer (not a bool).

    One :class:`~zoo.errors.ArgumentError` (a ValueError) names a bad value, and ``meaning`` what k
    counts, before any pass runs.
    """
    k = default if k is None else k
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        said = f" ({meaning})" if meaning else ""
        raise ArgumentError(f"k must be a positive integer{said}, got {k!r}")
    return k


def importance_weighted(log_weights: Callable[[int], torch.Tensor], k: int, per_pass: int) -> torch.Tensor:
    """``(B,)`` log (1/k) sum_j w_j: the importance-weighted average of k draws, in nats.

    ``log_weights(m)`` draws m more log weights log p(x, z_j) - log q(z_j | x) per image, ``(m, B)``;
    it is called with at most ``per_pass`` draws at a time, in order, so memory is bounded whatever k is
    and the draws come from a generator in the same order as one pass would take them. The average is
    taken once over all k with one logsumexp (stable; a running sum would lose the small weights).
    """
    parts = [log_weights(min(per_pass, k - start)) for start in range(0, k, per_pass)]
    return torch.logsumexp(torch.cat(parts, 0), 0) - math.log(k)


def estimator_of(model) -> str | None:
    """The estimator of ``model``'s NLL bound (None: exact), asked of its class and config."""
    ask = getattr(type(model), "nll_estimator", None)
    return ask(model.config) if callable(ask) else None


def iwae_estimator(k: int) -> str:
    """The estimator name of Burda et al.'s k-sample bound, ``IWAE k=500``: every latent-variable model whose
    ``log_prob`` is that bound (the VAEs, the hierarchical VAE) names it here, so their cards and tables agree."""
    return f"IWAE k={k}"


def format_nll(value: float | None, estimator: str | None = None, digits: int = 2) -> str:
    """An NLL as every output shows it: ``81.30``, or ``<= 86.28 (IWAE k=500)`` for an upper bound."""
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    return f"<= {text} ({estimator})" if estimator else text


def stored_estimator(metrics: dict[str, Any], cls=None, config=None) -> str | None:
    """The estimator of a stored result: what it recorded, or (results from before zoo recorded it)
    what the model's class says for its config."""
    if metrics.get("estimator"):
        return metrics["estimator"]
    if metrics.get("bound") is False or cls is None or config is None:
        return None
    ask = getattr(cls, "nll_estimator", None)
    try:
        return ask(config) if callable(ask) else None
    except Exception:  # noqa: BLE001 - a listing must not fail on one odd entry
        return None
