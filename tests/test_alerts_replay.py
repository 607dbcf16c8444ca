"""Every shipped scenario, replayed through the real bot on the fast clock and scored against its own expectations.

Each scenario file in sim/scenarios says what the bot must do with it
(``expect``): the incidents that must open (kind, the worst severity they
reach, words they must and must not say, how many messages they may take,
by when the first must be posted), kinds that must not open, how many
messages the channel may take at most. The replay and the score are those of
``k8s-chatops sim replay`` (``sim.replay``, ``sim.score``).

Over the corpus: warning-or-worse incidents score precision and recall 1.0,
healthy scenarios get no message at all, an informational upgrade takes at
most 3 messages, and every first alert comes within one check after its
grace period (each expected incident says by when; the file's comment says
how that follows from the trouble's start and the grace period).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sim import scenario as scenarios
from sim.scenario_spec import parse_offset
from tests.scenario_replay import Replay

UPGRADE_KINDS = ("master-upgrade", "node-pool-upgrade")
MOST_FOR_AN_INFORMATIONAL_UPGRADE = 3


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


# The largest scenario (zone-down-pileup, some 800 pods recreated and rescheduled) spends a minute and a
# half in the simulator's controllers on an idle machine: the default 120 s guard against a hang is too
# tight for it beside another test worker on two cores.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", scenarios.available())
def test_scenario_meets_its_expectations(replay, name: str) -> None:
    replayed = replay(name)
    replayed.play()
    result = replayed.score()
    assert not result.problems, result.report()
    assert (result.precision, result.recall) == (1.0, 1.0), result.report()
    if result.healthy:
        assert result.messages == 0, result.report()


def test_the_corpus_covers_what_the_alerts_must_get_right() -> None:
    """At least 20 scenarios, healthy ones among them, each expectation with its latency and message bounds."""
    specs = [scenarios.load_spec(name) for name in scenarios.available()]
    assert len(specs) >= 20, [s.name for s in specs]
    assert sum(1 for s in specs if s.expect.healthy) >= 4, "healthy scenarios (nothing may be posted) are part of the corpus"
    for spec in specs:
        assert spec.expect.healthy or spec.expect.incidents, f"{spec.name} expects nothing: mark it healthy or expect its incidents"
        for wanted in spec.expect.incidents:
            assert wanted.first_alert_by is not None, f"{spec.name}: {wanted.kind} says by when its first alert is due"
            assert parse_offset(wanted.first_alert_by).total_seconds() % 60 == 0
            assert wanted.max_messages is not None, f"{spec.name}: {wanted.kind} says how many messages it may take"
            if wanted.kind in UPGRADE_KINDS and wanted.severity == "info":
                assert wanted.max_messages <= MOST_FOR_AN_INFORMATIONAL_UPGRADE, f"{spec.name}: {wanted.kind}"
