"""The plugin module: zoo imports it through the entry point and calls its hooks."""

import zoo

from .left_context import LeftContext


@zoo.hookimpl
def zoo_register_models(register):
    register(LeftContext)
