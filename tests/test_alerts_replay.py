"""Every shipped scenario, replayed through the real bot on the fast clock and scored against its own expectations.

Each scenario file in sim/scenarios says what the bot must do with it
(``expect``): the incidents that must open (kind, the worst severity they
reach, words they must and must not say), kinds that must not open, how many
messages at most. Warning-or-worse incidents must score precision and recall
1.0; a healthy scenario must post nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sim import scenario as scenarios
from tests.scenario_replay import Replay, score


@pytest.fixture
def replay(tmp_path: Path) -> Iterator:
    started: list[Replay] = []

    def start(name: str) -> Replay:
        replayed = Replay(name, tmp_path)
        started.append(replayed)
        return replayed

    yield start
    for replayed in started:
        replayed.stop()


@pytest.mark.parametrize("name", scenarios.available())
def test_scenario_meets_its_expectations(replay, name: str) -> None:
    replayed = replay(name)
    replayed.play()
    result = score(replayed)
    assert not result.problems, result.report()
    assert (result.precision, result.recall) == (1.0, 1.0), result.report()
