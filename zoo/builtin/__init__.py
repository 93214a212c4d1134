"""The core's own plugin: the ``independent`` baseline, the bundled datasets, the default trainer and evaluator."""

from __future__ import annotations

from ..hookspecs import hookimpl
from .independent import Independent


@hookimpl
def zoo_register_models(register):
    register(Independent)
