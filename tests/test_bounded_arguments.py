"""Every size a user or a file types is bounded before it is spent (issue 30): --threads, --k by the work it
implies, --set values, and the length of a command zoo records and reads back."""

from __future__ import annotations

import time

import pytest

import zoo
from zoo.cli import main
from zoo.recipes import MAX_COMMAND_CHARS, Recipe, parse_settings
from zoo.threads import max_threads, pick_threads


@pytest.mark.parametrize("value", ["4096", "²", "①", "12345678901234567890", "0", "-1", "x"])
def test_a_thread_count_out_of_range_or_not_a_number_is_one_line(value):
    with pytest.raises(zoo.ArgumentError) as info:
        pick_threads(value, 0, "--threads")
    assert "\n" not in str(info.value) and "--threads" in str(info.value)


def test_threads_up_to_four_per_core_are_kept():
    assert pick_threads(str(max_threads()), 0) == max_threads() and max_threads() <= 1024


@pytest.mark.parametrize("value", ["4096", "²", "99999999999999999999"])
def test_zoo_sample_refuses_a_bad_thread_count(tmp_path, one_line_error, value):
    assert main(["sample", "independent-digits", "--out", str(tmp_path / "g.png"), "--threads", value]) == 2
    assert "--threads" in one_line_error()


def test_k_is_bounded_by_the_work_it_implies():
    from zoo.evaluation import check_bound_work

    model = zoo.create("vae-bernoulli", latent=2, hidden=[8], levels=2)
    start = time.perf_counter()
    with pytest.raises(zoo.ConfigError, match="more than 1,000,000 samples") as info:
        zoo.evaluate(model, "digits-binarized", k=10**9)
    assert time.perf_counter() - start < 5 and "\n" not in str(info.value)
    check_bound_work(5000, 10_000, 784)  # the IWAE paper's k on MNIST's test split
    with pytest.raises(zoo.ConfigError, match="sample-values, more than 1e"):
        check_bound_work(10**6, 10_000, 784)


def test_zoo_eval_k_a_billion_is_one_line(one_line_error):
    assert main(["eval", "vae-bernoulli-digits", "--k", "1000000000"]) == 2
    assert "k=1000000000" in one_line_error()


@pytest.mark.parametrize(
    "pair, expected",
    [("x=" + "[" * 100_000, "nested too deeply"), ("x=" + "9" * 5000, "digits")],
)
def test_a_set_value_that_json_cannot_take_is_one_line(pair, expected):
    with pytest.raises(zoo.ConfigError, match=expected) as info:
        parse_settings([pair])
    assert "\n" not in str(info.value)


def test_recipe_parse_is_bounded_and_fast():
    start = time.perf_counter()
    with pytest.raises(zoo.ConfigError, match="more than 65,536"):
        Recipe.parse("zoo train pixelcnn --dataset digits --set a=" + "b" * 5_000_000)
    assert time.perf_counter() - start < 1
    long = "zoo train pixelcnn --dataset digits --set a=" + "b" * (MAX_COMMAND_CHARS - 100)
    start = time.perf_counter()
    assert Recipe.parse(long).settings["a"].startswith("bbb")
    assert time.perf_counter() - start < 2


def test_a_command_too_long_to_record_is_refused(tmp_path, one_line_error):
    assert main(["create", "independent", "--out", str(tmp_path / "m"), "--set", "x=" + "y" * 70_000]) == 2
    assert "more than 65,536" in one_line_error()
