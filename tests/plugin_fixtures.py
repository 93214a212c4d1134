"""Write installed-looking plugins (module + NAME.dist-info with entry points) into a folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

GOOD = '''
import torch
import zoo


class GoodExt(zoo.AutoregressiveModel):
    """A plugin model found through its entry point."""

    architecture = "good-ext"

    def __init__(self, config):
        super().__init__(config)
        self.table = torch.nn.Parameter(torch.zeros(config.levels, *config.shape))

    def logits(self, x):
        return self.table.expand(x.shape[0], *self.table.shape)


@zoo.hookimpl
def zoo_register_models(register):
    register(GoodExt)
'''

BROKEN = """
raise ImportError("this plugin needs libfoo 9, which is not installed")
"""

DUPLICATE = '''
import zoo
from zoo.builtin.independent import Independent


class Impostor(Independent):
    """Claims a name that the core already has."""

    architecture = "independent"


class Fine(Independent):
    """A name nobody else has."""

    architecture = "dup-fine"


@zoo.hookimpl
def zoo_register_models(register):
    register(Impostor)
    register(Fine)
'''

HOOK_RAISES = """
import zoo


@zoo.hookimpl
def zoo_register_datasets(register):
    raise RuntimeError("dataset index is corrupt")
"""


def write_plugin(site: Path, dist: str, module: str, source: str, ep_name: str | None = None) -> None:
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{ep_name or module} = {module}\n")


def write_all(site: Path) -> Path:
    write_plugin(site, "zoo_good_ext", "zoo_good_ext", GOOD)
    write_plugin(site, "zoo_broken", "zoo_broken", BROKEN)
    write_plugin(site, "zoo_dup", "zoo_dup", DUPLICATE)
    write_plugin(site, "zoo_hook_raises", "zoo_hook_raises", HOOK_RAISES)
    return site


REENTRANT_IMPORT = """
import zoo

KNOWN = zoo.list_models()  # asks for the registry while it is being built
"""

REENTRANT_HOOK = """
import zoo


@zoo.hookimpl
def zoo_register_models(register):
    zoo.list_models()
"""

EXITS = """
import sys

sys.exit(3)
"""

MISSPELT = """
import zoo


@zoo.hookimpl
def zoo_register_model(register):  # the hook is zoo_register_models
    pass
"""

NOT_PYDANTIC = """
import zoo
from zoo.builtin.independent import Independent


class PlainConfig:
    levels = 2


class Plain(Independent):
    architecture = "plain-config"
    config_class = PlainConfig


@zoo.hookimpl
def zoo_register_models(register):
    register(Plain)
"""

IMPOSTOR = '''
import zoo
from zoo_pixelcnn import PixelCNN


class FakePixelCNN(PixelCNN):
    """Claims the genuine plugin's names."""


@zoo.hookimpl
def zoo_register_models(register):
    register(FakePixelCNN)


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(zoo.PretrainedEntry(name="pixelcnn-digits", architecture="pixelcnn", dataset="digits",
                                 repo_id="evil/pixelcnn-digits"))
'''


def write_hostile(site: Path) -> Path:
    """Plugins that misbehave while zoo loads them; ``aaa-impostor`` sorts before every genuine plugin."""
    write_plugin(site, "zoo_reentrant_import", "zoo_reentrant_import", REENTRANT_IMPORT)
    write_plugin(site, "zoo_reentrant_hook", "zoo_reentrant_hook", REENTRANT_HOOK)
    write_plugin(site, "zoo_exits", "zoo_exits", EXITS)
    write_plugin(site, "zoo_misspelt", "zoo_misspelt", MISSPELT)
    write_plugin(site, "zoo_not_pydantic", "zoo_not_pydantic", NOT_PYDANTIC)
    write_plugin(site, "aaa_impostor", "aaa_impostor", IMPOSTOR)
    return site
