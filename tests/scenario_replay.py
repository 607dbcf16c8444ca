"""Replaying scenarios in tests: the replay engine and scorer of ``k8s-chatops sim replay``, unchanged.

``sim.replay.Replay`` builds the real bot from a configuration aimed at the
simulated world and runs one check cycle per simulated minute; ``sim.score``
scores the alert channel against the scenario's ``expect``. The tests use
both as they are, so what the suite asserts is what the command prints.
"""

from __future__ import annotations

from sim.replay import CHANNEL, Replay
from sim.score import Opened, Score, score

__all__ = ["CHANNEL", "Opened", "Replay", "Score", "score"]
