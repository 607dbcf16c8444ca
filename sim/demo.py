"""`k8s-chatops demo`: the zonal-shortfall story, played against the simulated world.

It starts the simulated GKE world and Slack, connects the real bot to them
over Socket Mode, advances the simulated clock a minute at a time while the
alert checks run, and prints what the alert channel shows as it happens, plus
what an engineer sees when they ask with slash commands.

It drives the replay engine (``sim.replay``: the real bot built from a
configuration aimed at the world, one check per simulated minute) and adds
Socket Mode for the slash commands. Both live in the simulator's
distribution, not the bot's: they are the parts of ``sim`` that import
``bot``, and the bot's own ``k8s-chatops demo`` only dispatches here when the
simulator is installed.
"""

from __future__ import annotations

import argparse
import logging
import textwrap
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sim.replay import Replay
from sim.slack.sender import SlackSender
from sim.transcript import message_lines
from sim.world import World

WIDTH = 100
ASK_CHANNEL = "ops"
ENGINEER = "alice"


def _rule(title: str = "") -> str:
    return f"── {title} ".ljust(WIDTH, "─") if title else "─" * WIDTH


def _engineer_may_read_logs(world: World, config: dict[str, Any]) -> None:
    config["access"] = {"rules": [{"commands": ["logs", "ssh"], "users": [world.slack.user_id(ENGINEER)]}]}


class Demo(Replay):
    """The replay engine (``sim.replay``) on a clock that starts now, with Socket Mode for slash commands."""

    def __init__(self, scenario: str) -> None:
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        super().__init__(scenario, start=start, configure=_engineer_may_read_logs, evidence=True)

    def start(self) -> None:
        self.bot.start(schedule=False)
        self.sender = SlackSender(self.world, self.server)
        transport = self.bot.transport
        if transport is None:
            raise RuntimeError("the demo's settings gave the bot no Slack transport")
        deadline = time.monotonic() + 10
        while not transport.is_ready():
            if time.monotonic() > deadline:
                raise RuntimeError("the bot did not connect to the simulated Slack")
            time.sleep(0.05)

    def minutes(self, count: int) -> None:
        """Let ``count`` simulated minutes pass, one alert check per minute, printing the channel."""
        for _ in range(count):
            self.world.clock.advance(60)
            self.check()
            self.watcher.show_new()

    def ask(self, text: str) -> None:
        """An engineer types ``/k8s TEXT`` in #ops; print what only they see."""
        print(f"\n{_rule()}\n{ENGINEER} in #{ASK_CHANNEL}, {self.world.clock.now():%H:%M}:  /k8s {text}")
        delivery = self.sender.slash_command("/k8s", text, user=ENGINEER, channel=ASK_CHANNEL, via="socket")
        slack = self.world.slack
        answers = slack.wait_for(
            lambda: [r for r in slack.responses(delivery.response_url_id) if r.via != "ack"], timeout=30
        )
        answer = answers[-1]
        who = "only you" if answer.response_type == "ephemeral" else "everyone"
        if delivery.latency is None:  # no ack in time: Slack would have shown the user an error
            acked = f"not acked within {self.sender.ack_timeout:g} s"
        else:
            acked = f"acked in {delivery.latency * 1000:.0f} ms"
        print(f"  ({acked}; answer visible to {who})")
        print("\n".join(message_lines(answer.text, answer.blocks, indent="  ")))

    def narrate(self, text: str) -> None:
        print()
        print(_rule(self.world.clock.now().strftime("%H:%M")))
        for paragraph in text.strip().split("\n\n"):
            print(textwrap.fill(" ".join(paragraph.split()), WIDTH))


def run_demo(*, scenario: str = "zonal-shortfall", follow: bool = False) -> int:
    print(_rule("k8s-chatops demo"))
    print(textwrap.fill(
        "A simulated GKE world (Kubernetes, GKE, Compute Engine, Cloud Logging and Slack APIs on 127.0.0.1) "
        "replays the incident this bot exists for; the real bot talks to it through the real client "
        "libraries. Simulated time runs fast: each step below is one simulated minute and one alert check.",
        WIDTH,
    ))
    demo = Demo(scenario)
    try:
        demo.start()
        if scenario == "zonal-shortfall":
            _zonal_shortfall_story(demo)
        else:
            demo.narrate(f"Scenario {scenario}: checking every minute for an hour.")
            demo.minutes(60)
        if follow:
            _follow(demo)
    finally:
        demo.stop()
    print(f"\n{_rule('end of demo')}")
    print("Run it yourself: `k8s-chatops sim` serves this world for kubectl and `k8s-chatops ask`; see the README.")
    return 0


def _zonal_shortfall_story(demo: Demo) -> None:
    scenario_vms = demo.world.google.instances()
    registered = {n["metadata"]["name"] for n in demo.world.kube.items("nodes")}
    stray = sorted(vm["name"] for vm in scenario_vms if vm["name"] not in registered)
    demo.narrate(
        f"Cluster {demo.cluster} was created zonal ({demo.location}) because `location` was dropped from its "
        "Terraform. Its node pool spans three zones, but only the VM in the control plane's zone became a node. "
        "Pods for the launch cannot be scheduled. Nothing has told anyone yet. The bot checks every minute."
    )
    demo.minutes(11)
    demo.narrate("An engineer sees the alerts and starts triage from Slack, without a terminal.")
    demo.ask("nodes")
    demo.ask("pods --pending -A")
    if stray:
        demo.ask(f"logs node {stray[0]} --component kube-proxy --since 1h --limit 6")
        demo.ask(f"ssh {stray[0]}")
    demo.ask("cluster")
    demo.narrate("Twenty minutes later GKE starts its scheduled control-plane upgrade.")
    demo.minutes(22)
    demo.ask("nodes")
    demo.narrate("The upgrade goes on; on a zonal cluster the Kubernetes API stays down until it finishes.")
    demo.minutes(21)
    demo.narrate(
        "The fix, as the bot's `cluster` answer says: a regional cluster (Terraform `location` set to the "
        "region). Until then, the shortfall incident stays open in its thread."
    )


def _follow(demo: Demo) -> None:
    demo.narrate(
        "Following: the simulated clock now runs in real time and the scheduler checks every minute. "
        f"kubectl: KUBECONFIG={demo.state / 'kubeconfig'}; bot config: {demo.state / 'config.yaml'}. Ctrl-C stops."
    )
    assert demo.bot.alerts is not None
    demo.bot.alerts.start()
    last = time.monotonic()
    try:
        while True:
            time.sleep(1)
            now = time.monotonic()
            demo.world.clock.advance(now - last)
            last = now
            demo.watcher.show_new()
    except KeyboardInterrupt:
        return


def build_parser(prog: str = "k8s-chatops demo") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Play the zonal-shortfall story against the simulated world.")
    parser.add_argument("--scenario", default="zonal-shortfall", help="Scenario to play")
    parser.add_argument("--follow", action="store_true", help="Keep running after the story (Ctrl-C to stop)")
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "k8s-chatops demo") -> int:
    args = build_parser(prog).parse_args(argv)
    # The clients' retries while the zonal upgrade has the API down are the story, not news: the channel says it.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    return run_demo(scenario=args.scenario, follow=args.follow)
