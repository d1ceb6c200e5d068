"""`playground feedback review`'s hints: examples a person can type for the grid they see."""

from __future__ import annotations

import pytest

from playground import feedback as fb
from playground.commands.feedback import example_choice


@pytest.mark.parametrize("count", [1, 2, 3, 4, 10, 500])
def test_the_example_indexes_exist_in_a_grid_of_that_size(count: int) -> None:
    accept, reject = example_choice(count)
    accepted = fb.parse_selection(accept, count)
    rejected = fb.parse_selection(reject, count, "--reject")
    assert accepted
    assert rejected
    if count > 1:  # one decision a person could give as it stands
        assert not set(accepted) & set(rejected)


def test_an_empty_grid_offers_no_indexes() -> None:
    assert example_choice(0) == ("", "")
