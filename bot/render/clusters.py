"""`clusters` as Block Kit and text."""

from __future__ import annotations

from bot.commands.reply import Reply
from bot.render.limits import MessageBuilder, fallback_text
from bot.render.mrkdwn import code, escape
from bot.render.text import columns
from bot.results.clusters import ClustersResult, ClusterStatus


def _kind(s: ClusterStatus) -> str:
    return f"GKE {s.location_type} ({s.location})" if s.gke else "Kubernetes"


def render_clusters(result: ClustersResult) -> Reply:
    out = MessageBuilder()
    out.header("Configured clusters")
    if not result.clusters:
        out.section("No cluster is configured: add one under `clusters:` in the configuration.")
    lines = []
    for s in result.clusters:
        state = f":large_green_circle: reachable, {code(s.version)}" if s.reachable else f":red_circle: unreachable: {escape(s.reason)}"
        lines.append(f"• *{escape(s.name)}* · {escape(_kind(s))} · {state}")
    out.lines(lines, noun="clusters")
    up = sum(1 for s in result.clusters if s.reachable)
    plain = columns(
        ("CLUSTER", "KIND", "STATE"),
        [(s.name, _kind(s), f"reachable ({s.version})" if s.reachable else f"unreachable: {s.reason}") for s in result.clusters],
    ) or "No cluster is configured."
    return Reply(text=fallback_text(f"{up} of {len(result.clusters)} clusters reachable"), blocks=out.build(), plain=plain)
