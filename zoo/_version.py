"""The zoo version, in a leaf module so that every other module can read it without importing the package."""

__version__ = "0.1.0"

# The distribution names on PyPI ("zoo" there is an unrelated project): the core is genzoo, and a plugin in
# plugins/zoo-NAME is the distribution genzoo-NAME with import package zoo_NAME and entry point NAME.
DISTRIBUTION = "genzoo"
PLUGIN_PREFIX = DISTRIBUTION + "-"


def plugin_distribution(plugin: str) -> str:
    """The distribution that, by the naming scheme, provides the plugin whose entry point is ``plugin``."""
    return DISTRIBUTION if plugin in ("", "zoo-builtin") else PLUGIN_PREFIX + plugin.replace("_", "-")
