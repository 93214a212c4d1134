"""Exact likelihoods and bounds: which a model's NLL is, and how every output writes it.

A latent-variable model's ``log_prob`` is a lower bound on the log-likelihood, so its NLL is an upper
bound: :func:`format_nll` writes it ``<= 86.28 (IWAE k=500)``, never as a bare number that reads
like an exact likelihood. A model says which through ``Model.nll_estimator(config)``. A leaf module:
the evaluator, the cards and the command line all ask it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["estimator_of", "format_nll", "stored_estimator"]


def estimator_of(model) -> str | None:
    """The estimator of ``model``'s NLL bound (None: exact), asked of its class and config."""
    ask = getattr(type(model), "nll_estimator", None)
    return ask(model.config) if callable(ask) else None


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
