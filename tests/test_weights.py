"""The weights format: config.json + model.safetensors, exact round trip, one clear error per fault."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

import zoo
from zoo.errors import WeightsError


@pytest.fixture
def saved(tmp_path):
    model = zoo.create("independent", channels=1, height=4, width=4, levels=5)
    with torch.no_grad():
        model.logit_table.normal_()
    folder = zoo.save_pretrained(model, tmp_path / "m", dataset="digits", metrics={"test": {"bits_per_dim": 1.5}})
    return model, folder


def test_round_trip_is_exact(saved):
    model, folder = saved
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format_version"] == 1 and meta["architecture"] == "independent"
    assert meta["plugin"] == "zoo-builtin" and meta["dataset"] == "digits"
    assert meta["config"] == {"channels": 1, "height": 4, "width": 4, "levels": 5}
    loaded = zoo.load(folder)
    assert torch.equal(loaded.logit_table, model.logit_table)
    assert loaded.pretrained_info["metrics"]["test"]["bits_per_dim"] == 1.5
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]


def test_missing_weights_file(saved):
    _, folder = saved
    (folder / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match=r"model\.safetensors: file not found"):
        zoo.load(folder)


def test_missing_config_file(saved):
    _, folder = saved
    (folder / "config.json").unlink()
    with pytest.raises(WeightsError, match=r"config\.json: file not found"):
        zoo.load(folder)


def test_corrupted_weights_file(saved):
    _, folder = saved
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"model\.safetensors: not a valid safetensors file"):
        zoo.load(folder)


def test_invalid_json(saved):
    _, folder = saved
    (folder / "config.json").write_text("{not json")
    with pytest.raises(WeightsError, match=r"config\.json: not valid JSON"):
        zoo.load(folder)


def edit_tensors(folder, fn):
    tensors = load_file(str(folder / "model.safetensors"))
    fn(tensors)
    save_file(tensors, str(folder / "model.safetensors"))


def test_missing_tensor(saved):
    _, folder = saved
    edit_tensors(folder, lambda t: t.pop("logit_table"))
    with pytest.raises(WeightsError, match="missing tensor.*logit_table"):
        zoo.load(folder)


def test_extra_tensor(saved):
    _, folder = saved
    edit_tensors(folder, lambda t: t.update(stray=torch.zeros(2)))
    with pytest.raises(WeightsError, match="unexpected tensor.*stray"):
        zoo.load(folder)


def test_wrong_shape(saved):
    _, folder = saved
    edit_tensors(folder, lambda t: t.update(logit_table=torch.zeros(5, 1, 4, 3)))
    with pytest.raises(WeightsError, match=r"'logit_table' has shape \(5, 1, 4, 3\), the config needs \(5, 1, 4, 4\)"):
        zoo.load(folder)


def rewrite_config(folder, fn):
    meta = json.loads((folder / "config.json").read_text())
    fn(meta)
    (folder / "config.json").write_text(json.dumps(meta))


def test_config_fails_validation(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m["config"].update(levels=1))
    with pytest.raises(WeightsError, match=r"config\.json: invalid config for independent: levels: "):
        zoo.load(folder)
    rewrite_config(folder, lambda m: m["config"].update(levels=5, colour=3))
    with pytest.raises(WeightsError, match="colour: Extra inputs are not permitted"):
        zoo.load(folder)


def test_unknown_architecture(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m.update(architecture="independant", plugin="other", plugin_distribution=""))
    with pytest.raises(
        WeightsError,
        match=r"config\.json: unknown architecture 'independant'; did you mean 'independent'.*pip install genzoo-other",
    ):
        zoo.load(folder)


def test_newer_format_and_missing_key(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m.update(format_version=99))
    with pytest.raises(WeightsError, match="format_version 99 is newer"):
        zoo.load(folder)
    rewrite_config(folder, lambda m: m.pop("architecture"))
    with pytest.raises(WeightsError, match="missing key 'architecture'"):
        zoo.load(folder)


def test_failed_load_loses_nothing(saved):
    _, folder = saved
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    rewrite_config(folder, lambda m: m["config"].update(height=5))
    changed = (folder / "config.json").read_bytes()
    with pytest.raises(WeightsError):
        zoo.load(folder)
    assert (folder / "config.json").read_bytes() == changed
    assert (folder / "model.safetensors").read_bytes() == before["model.safetensors"]


def test_no_pickle_anywhere():
    import pathlib

    root = pathlib.Path(zoo.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "torch.load(" not in text and "import pickle" not in text, path


# -- hostile folders: bounded memory, one clear line naming the file and the field ----------------


class SpyConfig(zoo.ModelConfig):
    refuse: bool = False


class Spy(zoo.AutoregressiveModel):
    """Records the device each build allocates on, so a test can see that nothing was materialised."""

    architecture = "spy-hostile"
    config_class = SpyConfig
    builds: list = []

    def __init__(self, config):
        super().__init__(config)
        if config.refuse:
            raise ValueError("this config is refused by the model itself")
        Spy.builds.append(str(torch.empty(0).device))
        self.table = torch.nn.Parameter(torch.zeros(config.levels, *config.shape))

    def logits(self, x):
        return self.table.expand(x.shape[0], *self.table.shape)


@pytest.fixture
def spy(tmp_path):
    class Plugin:
        @zoo.hookimpl
        def zoo_register_models(self, register):
            register(Spy)

    name = zoo.register_plugin(Plugin(), "test-spy-hostile")
    Spy.builds.clear()
    folder = zoo.save_pretrained(zoo.create("spy-hostile", height=2, width=2, levels=3), tmp_path / "spy")
    Spy.builds.clear()
    yield folder
    zoo.unregister_plugin(name)


def test_huge_config_with_small_weights_is_refused_before_any_allocation(spy):
    # 1000 levels of 1024 x 1024 pixels: a 4 GB table if it were built. The header says 3 x 1 x 2 x 2.
    rewrite_config(spy, lambda m: m["config"].update(height=1024, width=1024, levels=1000))
    with pytest.raises(
        WeightsError,
        match=r"model\.safetensors: tensor 'table' has shape \(3, 1, 2, 2\), "
        r"the config needs \(1000, 1, 1024, 1024\)",
    ):
        zoo.load(spy)
    assert Spy.builds == ["meta"]  # built once, on the meta device, and never materialised


def test_good_folder_is_built_once_for_real(spy):
    zoo.load(spy)
    assert Spy.builds == ["meta", "cpu"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("height", 10**9),
        ("width", 10**9),
        ("channels", 10**6),
        ("levels", 10**9),
    ],
)
def test_sizes_beyond_the_bounds_are_one_line(saved, field, value):
    _, folder = saved
    rewrite_config(folder, lambda m: m["config"].update({field: value}))
    with pytest.raises(WeightsError) as info:
        zoo.load(folder)
    msg = str(info.value)
    assert msg.startswith(f"{folder / 'config.json'}: invalid config for independent: {field}: ")
    assert "less than or equal to" in msg and "\n" not in msg


def test_image_whose_logits_cannot_fit_is_refused(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m["config"].update(height=1024, width=1024, levels=4096))
    with pytest.raises(WeightsError, match="levels x channels x height x width = 4,294,967,296 is more than"):
        zoo.load(folder)
    with pytest.raises(ValueError, match="one image's logits would not fit"):
        zoo.create("independent", height=1024, width=1024, levels=65536)


def test_plugin_config_bounds():
    """Every size field of every installed architecture has an upper bound far above real use."""
    from zoo.registry import get_registry

    reg = get_registry()
    checked = 0
    for arch, field in [
        ("pixelcnn", "hidden"),
        ("pixelcnn", "layers"),
        ("pixelcnn", "num_classes"),
        ("row-lstm", "hidden"),
        ("row-lstm", "layers"),
        ("row-lstm", "out_hidden"),
        ("diagonal-bilstm", "hidden"),
        ("diagonal-bilstm", "layers"),
        ("diagonal-bilstm", "out_hidden"),
        ("vae-bernoulli", "latent"),
        ("vae-bernoulli", "levels"),
        ("vae-gaussian", "eval_samples"),
        ("vae-gaussian", "samples"),
    ]:
        if arch not in reg.models:
            continue
        with pytest.raises(ValueError, match=f"{field}: Input should be less than or equal to"):
            zoo.create(arch, **{field: 10**9})
        checked += 1
    if "vae-gaussian" in reg.models:
        with pytest.raises(ValueError, match="widths must be <= 65536"):
            zoo.create("vae-gaussian", hidden=[10**9])
        with pytest.raises(ValueError, match="hidden: List should have at most 32 items"):
            zoo.create("vae-gaussian", hidden=[8] * 1000)
    if not checked:
        pytest.skip("no plugin installed")


def test_model_that_refuses_its_config_is_one_line(spy):
    rewrite_config(spy, lambda m: m["config"].update(refuse=True))
    with pytest.raises(
        WeightsError,
        match=r"config\.json: cannot build spy-hostile from this config "
        r"\(this config is refused by the model itself\)",
    ):
        zoo.load(spy)


@pytest.mark.parametrize("arch", [[1, 2], 5, {"name": "independent"}, None, "", "x" * 5000])
def test_architecture_that_is_not_a_name(saved, arch):
    _, folder = saved
    rewrite_config(folder, lambda m: m.update(architecture=arch))
    with pytest.raises(WeightsError) as info:
        zoo.load(folder)
    msg = str(info.value)
    assert msg.startswith(f"{folder / 'config.json'}: field architecture must be a name (a short string), got ")
    assert len(msg) < 300


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("plugin", ["zoo"], "field plugin must be a string"),
        ("dataset", {"a": 1}, "field dataset must be a string or null"),
        ("metrics", [1], "field metrics must be an object"),
        ("config", [1, 2], "field config must be a JSON object, got list"),
        ("format_version", "1", "field format_version must be a positive integer, got '1'"),
        ("format_version", True, "field format_version must be a positive integer, got True"),
    ],
)
def test_top_level_fields_of_the_wrong_type(saved, key, value, expected):
    _, folder = saved
    rewrite_config(folder, lambda m: m.update({key: value}))
    with pytest.raises(WeightsError, match=expected):
        zoo.load(folder)


def test_five_thousand_digit_integer_names_its_field(saved):
    _, folder = saved
    text = (folder / "config.json").read_text().replace('"height": 4', '"height": ' + "9" * 5000)
    (folder / "config.json").write_text(text)
    with pytest.raises(WeightsError) as info:
        zoo.load(folder)
    assert str(info.value) == (
        f"{folder / 'config.json'}: field config.height is an integer of 5000 digits (at most 18 are accepted)"
    )


def test_deeply_nested_json(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m["metrics"].update(deep=json.loads("[" * 100 + "]" * 100)))
    with pytest.raises(WeightsError, match=r"config\.json: field metrics\.deep\[0\].* is nested more than 32"):
        zoo.load(folder)
    (folder / "config.json").write_text('{"config": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(WeightsError, match=r"config\.json: JSON nested more than 32 levels deep"):
        zoo.load(folder)


def test_oversized_config_file(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m.update(padding="x" * (2 << 20)))
    with pytest.raises(WeightsError, match=r"config\.json: larger than 1048576 bytes"):
        zoo.load(folder)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused(saved, bad):
    _, folder = saved

    def poison(t):
        t["logit_table"][0, 0, 1, 2] = bad

    edit_tensors(folder, poison)
    with pytest.raises(
        WeightsError,
        match=r"model\.safetensors: tensor 'logit_table' holds 1 NaN or infinite "
        r"value\(s\) of 80; refusing",
    ):
        zoo.load(folder)


def test_wrong_dtype_is_seen_in_the_header(saved):
    """Another float dtype loads cast (tests/test_loading.py); an integer where a float belongs is refused."""
    _, folder = saved
    edit_tensors(folder, lambda t: t.update(logit_table=t["logit_table"].to(torch.int32)))
    with pytest.raises(WeightsError, match="'logit_table' has dtype torch.int32, expected torch.float32"):
        zoo.load(folder)


def test_header_claiming_more_data_than_the_file_holds(saved):
    _, folder = saved
    path = folder / "model.safetensors"
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    header["logit_table"]["shape"] = [5, 1, 4, 40000]
    header["logit_table"]["data_offsets"] = [0, 5 * 4 * 40000 * 4]
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n :])
    with pytest.raises(WeightsError, match=r"model\.safetensors: not a valid safetensors file"):
        zoo.load(folder)


def test_cli_refuses_nan_weights_in_one_line(saved, capsys):
    from zoo.cli import main

    _, folder = saved
    edit_tensors(folder, lambda t: t["logit_table"].fill_(float("nan")))
    assert main(["sample", str(folder), "--n", "1", "--out", str(folder / "s.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NaN or infinite" in err


def test_oversized_safetensors_header_is_refused_before_parsing(saved):
    _, folder = saved
    path = folder / "model.safetensors"
    path.write_bytes((200 << 20).to_bytes(8, "little") + b"{" + b" " * 64)
    with pytest.raises(WeightsError) as info:
        zoo.load(folder)
    assert str(info.value) == f"{path}: safetensors header of 209715200 bytes, more than 16777216 allowed"
