"""A fast start (issue 29.4, issue 31.3): ``import zoo`` imports no Hub, HTTP or publishing module, and
building the registry reads no bundled model folder; an entry's config.json is read when it is first used."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo import registry
from zoo.folders import bundled_entry
from zoo.specs import DeferredEntry
from zoo.weights import file_sha256

#: what a local load never needs: the Hub client, its HTTP stack, zoo's Hub, publishing and card modules
HUB_MODULES = ("huggingface_hub", "httpx2", "zoo.hub", "zoo.publish", "zoo.transfer", "zoo.cards")
#: the files of a model folder that registering a plugin must not open
FOLDER_FILES = ("config.json", "README.md", "train_config.json", "model.safetensors")

_opened: list[str] | None = None  # the paths opened while a test listens; None: nobody listens


def _listen(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None and isinstance(args[0], (str, bytes, Path)):
        _opened.append(str(args[0] if not isinstance(args[0], bytes) else args[0].decode(errors="replace")))


sys.addaudithook(_listen)  # an audit hook cannot be removed: it records only while _opened is a list


def _opens_while(action) -> list[str]:
    """The model-folder files opened while ``action()`` runs."""
    global _opened
    _opened = []
    try:
        action()
        return [p for p in _opened if Path(p).name in FOLDER_FILES]
    finally:
        _opened = None


def test_building_the_registry_reads_no_model_folder():
    registry.reload()
    opened = _opens_while(registry.get_registry)
    reg = registry.get_registry()
    bundled = [name for name, spec in reg.pretrained.items() if isinstance(spec.declared, DeferredEntry)]
    assert len(bundled) >= 20, bundled  # every plugin's bundled folders are registered ...
    assert opened == []  # ... and none of their files was opened
    # the first use of an entry reads its own config.json, and only its own
    first = _opens_while(lambda: reg.entry("independent-digits").architecture)
    assert [Path(p).parent.name for p in first if Path(p).name == "config.json"] == ["independent-digits"]
    assert _opens_while(lambda: reg.entry("independent-digits").recipe) == []  # read once, kept


def test_a_deferred_entry_reads_its_folder_on_first_use_and_once(tmp_path):
    source = registry.get_registry().entry("independent-digits").folder
    folder = shutil.copytree(source, tmp_path / "pretrained" / "mine")
    sha256, entry = file_sha256(folder / "model.safetensors"), None

    def declare():
        nonlocal entry
        entry = bundled_entry(folder, sha256=sha256, description="mine")

    assert _opens_while(declare) == []
    assert (entry.name, entry.repo_id) == ("mine", None)  # known from the declaration
    assert "not read yet" in repr(entry)
    opened = _opens_while(lambda: entry.architecture)
    assert str(folder / "config.json") in opened
    assert (entry.architecture, entry.dataset, entry.bundled) == ("independent", "digits", "mine")
    assert _opens_while(lambda: entry.resolve().recipe) == []


def test_a_bundled_entry_refuses_an_unknown_field_when_declared():
    with pytest.raises(TypeError, match="no such PretrainedEntry field repo"):
        bundled_entry("mine", sha256="0" * 64, description="", repo="zoo-models/mine")


def test_a_deferred_entry_whose_folder_is_gone_fails_when_used_in_one_line(tmp_path):
    missing = bundled_entry(tmp_path / "pretrained" / "gone", sha256="0" * 64, description="")
    with pytest.raises(zoo.ZooError, match="gone"):
        missing.resolve()


@pytest.mark.slow
def test_import_zoo_imports_no_hub_module_until_one_is_used():
    script = """
import json, sys
import zoo
loaded = lambda: sorted(m for m in sys.modules if m.split(".")[0] in HUB or m in HUB)
HUB = {hub}
import zoo.cli  # the command line too
at_import = loaded()
zoo.get_registry()
after_registry = loaded()
zoo.load("independent-digits")
after_load = loaded()
push = zoo.push_to_hub
print(json.dumps([at_import, after_registry, after_load, "zoo.publish" in sys.modules, push.__module__]))
""".replace("{hub}", repr(set(HUB_MODULES)))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    at_import, after_registry, after_load, published, module = json.loads(run.stdout.splitlines()[-1])
    assert at_import == [] and after_registry == [] and after_load == []
    assert published and module == "zoo.publish"  # zoo.push_to_hub still works, imported when named


def test_collection_is_paused_while_plugins_load_and_restored_after():
    import gc

    from zoo.plugins import paused_gc

    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("a plugin failed")
    assert gc.isenabled()  # restored, whatever happened inside
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a collector the caller had turned off stays off
    finally:
        gc.enable()


def test_an_image_format_is_found_from_the_extension_whichever_plugin_of_pillow_writes_it():
    from zoo.figures import image_format

    assert [image_format(f"x{ext}") for ext in (".png", ".JPG", ".jpeg", ".webp", ".tiff")] == [
        "PNG",
        "JPEG",
        "JPEG",
        "WEBP",
        "TIFF",
    ]
    assert image_format("x.xyz") is None and image_format("x") is None
