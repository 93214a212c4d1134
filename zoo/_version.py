"""The zoo version, in a leaf module so that every other module can read it without importing the package."""

import re

__version__ = "0.1.0"

# The distribution names on PyPI ("zoo" there is an unrelated project): the core is genzoo, and a plugin in
# plugins/zoo-NAME is the distribution genzoo-NAME with import package zoo_NAME and entry point NAME.
DISTRIBUTION = "genzoo"
PLUGIN_PREFIX = DISTRIBUTION + "-"


def plugin_distribution(plugin: str) -> str:
    """The distribution that, by the naming scheme, provides the plugin whose entry point is ``plugin``."""
    return DISTRIBUTION if plugin in ("", "zoo-builtin") else PLUGIN_PREFIX + plugin.replace("_", "-")


_PLUGIN_NAME = re.compile(r"(?:[a-z0-9]|[a-z0-9][a-z0-9_-]{0,62}[a-z0-9])")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){0,4}(?:(?:a|b|rc|\.post|\.dev)[0-9]+)*")


def install_name(distribution: object = "", plugin: object = "") -> str | None:
    """The distribution a ``pip install`` hint may name, from what a downloaded config.json says: its
    ``plugin_distribution`` when it follows the naming rule (``genzoo`` or ``genzoo-NAME``), else the one
    the rule gives for its ``plugin``; None when neither is a plain name. A hint is text a user pastes
    into a shell, so it is never built from a URL, an option or anything but such a name."""
    if isinstance(distribution, str) and (
        distribution == DISTRIBUTION
        or (distribution.startswith(PLUGIN_PREFIX) and _PLUGIN_NAME.fullmatch(distribution[len(PLUGIN_PREFIX) :]))
    ):
        return distribution
    if isinstance(plugin, str) and (plugin in ("", "zoo-builtin") or _PLUGIN_NAME.fullmatch(plugin)):
        return plugin_distribution(plugin)
    return None


def plain_version(version: object) -> str | None:
    """``version`` when it is a plain release number (``0.1.0``, ``1.2rc1``), else None."""
    return version if isinstance(version, str) and _VERSION.fullmatch(version) else None
