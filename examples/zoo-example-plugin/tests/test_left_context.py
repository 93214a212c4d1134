"""The plugin's tests: the zoo contract kit, plus what is special about this model."""

import zoo
from zoo.testing import check_model, receptive_field


def test_contract_grey_and_colour():
    check_model("left-context", channels=1, height=4, width=4, levels=3)
    check_model("left-context", channels=3, height=4, width=4, levels=4, hidden=6)


def test_sees_only_the_left_of_its_row():
    model = zoo.create("left-context", height=5, width=5, levels=2, width_of_view=5)
    field = receptive_field(model, 2, 3)[0]
    assert field.nonzero().tolist() == [[2, 1], [2, 2]]
