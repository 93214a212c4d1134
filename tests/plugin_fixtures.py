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

BROKEN = '''
raise ImportError("this plugin needs libfoo 9, which is not installed")
'''

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

HOOK_RAISES = '''
import zoo


@zoo.hookimpl
def zoo_register_datasets(register):
    raise RuntimeError("dataset index is corrupt")
'''


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
