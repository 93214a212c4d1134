"""Hub conventions (issue 22.5), against the local fake Hub: a pushed card loads the repo it was pushed to
and says what to install; model-index names the data variant and the Hub's split names; a re-push deletes
the figures the folder no longer has; private=None, create_pr, token, commit message and library name."""

from __future__ import annotations

import pytest
import torch
from huggingface_hub import ModelCard

import zoo
from zoo.cards import card_data, write_model_card
from zoo.cli import main
from zoo.testing.hub import TOKEN

pytestmark = pytest.mark.usefixtures("fake_hub")


def saved(tmp_path, name="ft", **kwargs):
    torch.manual_seed(0)
    model = zoo.create("independent", levels=4, height=3, width=3)
    return zoo.save_pretrained(model, tmp_path / name, dataset="digits", **kwargs)


def pushed_card(hub, repo, rev="main") -> ModelCard:
    return ModelCard(hub.files(repo, rev)["README.md"].decode())


def test_a_card_written_before_the_push_loads_the_repo_it_was_pushed_to(fake_hub, tmp_path):
    folder = saved(tmp_path)
    write_model_card(folder, notes="Hand-written notes stay.")  # usage reads zoo.load("ft") here
    before = (folder / "README.md").read_bytes()
    zoo.push_to_hub(folder, "alice/ft", license="apache-2.0")
    card = pushed_card(fake_hub, "alice/ft")
    assert 'zoo.load("alice/ft")' in card.text and 'zoo.load("ft")' not in card.text
    assert "```bash\npip install genzoo\n```" in card.text  # the install line (the core, for a built-in model)
    assert "Hand-written notes stay." in card.text and "## License" in card.text
    assert card.data.license == "apache-2.0"
    assert (folder / "README.md").read_bytes() == before  # only the staged upload was edited


def test_model_index_names_the_dataset_variant_and_the_hubs_split_names(tmp_path):
    metrics = {
        "val": {"split": "val", "n_images": 10, "nll_nats": 90.0, "bits_per_dim": 0.2, "options": {"dynamic": True}},
        "test": {"split": "test", "n_images": 10, "nll_nats": 91.0, "bits_per_dim": 0.21},
    }
    model = zoo.create("independent", levels=2, height=3, width=3)
    folder = zoo.save_pretrained(
        model, tmp_path / "m", dataset="binarized-mnist", dataset_options={"dynamic": True}, metrics=metrics
    )
    results = card_data(folder).eval_results
    assert {r.dataset_split for r in results} == {"validation", "test"}
    assert {r.dataset_config for r in results} == {"dynamic"}  # dynamic binarization, not the static set
    assert all(r.dataset_args == {"dynamic": True} for r in results)


def test_a_re_push_deletes_the_managed_files_the_folder_no_longer_has(fake_hub, tmp_path):
    folder = saved(tmp_path)
    write_model_card(folder)  # samples.png, completions.png, curves-free
    (folder / "curves.png").write_bytes(b"an old curve")
    zoo.push_to_hub(folder, "alice/repush")
    fake_hub.commit("alice/repush", {"NOTES.md": b"the owner's own file"})
    assert "curves.png" in fake_hub.files("alice/repush")
    (folder / "curves.png").unlink()
    zoo.push_to_hub(folder, "alice/repush")
    files = fake_hub.files("alice/repush")
    assert "curves.png" not in files  # a figure the folder no longer has is gone
    assert "NOTES.md" in files and "samples.png" in files  # what zoo does not manage stays


def test_private_none_keeps_the_visibility_and_create_pr_leaves_main_alone(fake_hub, tmp_path):
    folder = saved(tmp_path)
    zoo.push_to_hub(folder, "alice/vis", private=True)
    zoo.push_to_hub(folder, "alice/vis")  # private=None: the existing repo stays private
    assert fake_hub.repos["alice/vis"].private
    zoo.push_to_hub(folder, "alice/public")
    assert not fake_hub.repos["alice/public"].private

    main_head = fake_hub.repos["alice/public"].branches["main"]
    url = zoo.push_to_hub(saved(tmp_path, "other"), "alice/public", create_pr=True)
    assert url == f"{fake_hub.url}/alice/public/discussions/1"
    assert fake_hub.repos["alice/public"].branches["main"] == main_head
    assert "refs/pr/1" in fake_hub.repos["alice/public"].branches


def test_cli_push_takes_token_commit_message_revision_and_create_pr(fake_hub, tmp_path, monkeypatch, capsys):
    folder = saved(tmp_path)
    monkeypatch.delenv("HF_TOKEN")
    argv = ["push", str(folder), "--repo", "alice/cli", "--token", TOKEN, "--commit-message", "first weights"]
    assert main([*argv, "--revision", "dev", "--license", "mit"]) == 0
    assert fake_hub.commit_messages[-1] == "first weights"
    assert "dev" in fake_hub.repos["alice/cli"].branches
    assert pushed_card(fake_hub, "alice/cli", "dev").data.license == "mit"
    assert main([*argv, "--create-pr"]) == 0
    assert "opened a pull request on alice/cli" in capsys.readouterr().out
    assert TOKEN not in capsys.readouterr().out


def test_pushes_name_the_library_to_huggingface_hub(fake_hub, tmp_path):
    zoo.push_to_hub(saved(tmp_path), "alice/agent")
    commits = [ua for (m, p), ua in zip(fake_hub.requests, fake_hub.user_agents) if "/commit/" in p]
    assert commits and all(f"zoo/{zoo.__version__}" in ua for ua in commits)
