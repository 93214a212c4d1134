"""`pip install` carries the models: wheels built from the source tree, installed into a fresh virtualenv.

Slow (it builds five wheels and a virtualenv), so it is marked ``install`` and left out of
``make test``; ``make test-install`` runs it. The fresh environment gets zoo and its plugins only
from the wheels; the third-party dependencies (torch and the rest) are borrowed from the running
environment through a ``.pth`` line, so the test needs no network and no second copy of torch.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = [ROOT, *sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))]
ONE_PER_PLUGIN = [
    "independent-digits",
    "pixelcnn-digits",
    "row-lstm-digits",
    "diagonal-bilstm-digits",
    "vae-bernoulli-digits",
]

PROBE = """
import json, sys, torch, zoo
out = {}
for name in sys.argv[1:]:
    model = zoo.load(name)
    images = model.sample(2, generator=torch.Generator().manual_seed(0))
    out[name] = {"file": zoo.__file__, "location": zoo.model_info(name)["location"],
                 "shape": list(images.shape), "nll": float(model.log_prob(images).mean())}
print(json.dumps(out))
"""


def test_wheels_carry_their_bundled_models(tmp_path):
    wheels = tmp_path / "wheels"
    skip = shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "plugins", "tests", "outputs")
    sources = [
        shutil.copytree(d, tmp_path / "src" / d.name, ignore=skip) for d in DISTRIBUTIONS
    ]  # no build/ in the tree
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            *map(str, sources),
        ],
        check=True,
        cwd=tmp_path,
    )
    built = sorted(p.name for p in wheels.glob("*.whl"))
    assert len(built) == len(DISTRIBUTIONS), built
    assert all(name.startswith(("genzoo-", "genzoo_")) for name in built), built  # no wheel claims "zoo"

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            *map(str, wheels.glob("*.whl")),
        ],
        check=True,
        cwd=tmp_path,
    )
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    run = subprocess.run(
        [str(python), "-c", PROBE, *ONE_PER_PLUGIN],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": str(env_dir / "bin"), "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    for name in ONE_PER_PLUGIN:
        assert found[name]["file"].startswith(str(site)), found[name]  # zoo itself came from the wheel
        assert found[name]["location"].startswith(f"bundled: {site}"), found[name]  # and so did the weights
        assert found[name]["shape"][0] == 2 and found[name]["nll"] < 0


def test_the_core_wheel_builds_under_its_own_name_with_the_one_version(tmp_path):
    """``pip wheel --no-deps .`` gives genzoo-<zoo/_version.py's version>: the name PyPI has free."""
    source = shutil.copytree(
        ROOT, tmp_path / "src", ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "plugins")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        check=True,
        cwd=source,
    )
    version = {}
    exec((ROOT / "zoo" / "_version.py").read_text(), version)
    assert [p.name for p in tmp_path.glob("*.whl")] == [f"genzoo-{version['__version__']}-py3-none-any.whl"]
