"""Score what the alert channel got from a replayed scenario against the scenario's own expectations.

A scenario file carries, as data, what the bot must make of it (``expect``):
the incidents that must open (kind, the worst severity they reach, words they
must and must not say, how many messages they may take, by when the first
one must be posted), the kinds that must not open, how many messages the
whole channel may take, and whether the scenario is healthy (nothing at all
may be posted). ``score`` holds what the bot did against that:

- warning-or-worse incidents by precision (each one the bot opened was
  expected) and recall (each expected one opened, at that severity);
  informational ones must match when expected and are never a false alarm;
- messages, counted the way a channel's readers and Slack's rate limits feel
  them: every post, every edit of a parent, every thread reply, and every
  reply also sent to the channel once more;
- the first alert's latency: when the incident's parent was posted, from the
  start of the scenario, against the latest moment the file allows.

It reads only the simulated Slack's record and a plain description of each
incident the bot opened (``Raised``), so the replay command and the test
suite score the same way whatever runs the bot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sim.scenario_spec import ExpectedIncident, ScenarioSpec, parse_offset
from sim.slack.records import Message
from sim.slack.workspace import SlackWorkspace

SERIOUS = ("warning", "critical")


@dataclass(frozen=True)
class Raised:
    """An incident the bot opened, as its store describes it."""

    id: int
    kind: str
    scope: str
    severity: str  # the worst it reached
    title: str
    status: str  # open | resolved
    parent_ts: str | None  # None: never posted (muted, or Slack never took it)


@dataclass(frozen=True)
class Opened:
    """An incident and everything the channel showed of it."""

    raised: Raised
    text: str  # every version of the parent and every reply, one after another
    posts: int = 0
    edits: int = 0
    replies: int = 0
    broadcasts: int = 0  # replies also sent to the channel
    first_at: datetime | None = None  # when its parent was posted

    @property
    def kind(self) -> str:
        return self.raised.kind

    @property
    def severity(self) -> str:
        return self.raised.severity

    @property
    def messages(self) -> int:
        return self.posts + self.edits + self.replies + self.broadcasts

    def label(self) -> str:
        return f"{self.kind} #{self.raised.id}"


def posted_at(ts: str) -> datetime:
    """A message's ts is the (simulated) time it was posted."""
    return datetime.fromtimestamp(float(ts), UTC)


def message_count(parent: Message, replies: Sequence[Message]) -> int:
    """The parent, its edits, its replies, and the replies that also reached the channel."""
    return 1 + len(parent.edits) + len(replies) + sum(1 for r in replies if r.broadcast)


def channel_messages(slack: SlackWorkspace, channel: str) -> int:
    """Everything the channel got: posts, edits, thread replies and broadcasts, incidents or not."""
    return sum(message_count(p, slack.thread(channel, p.ts)) for p in slack.messages(channel))


def read_channel(slack: SlackWorkspace, channel: str, raised: Iterable[Raised]) -> list[Opened]:
    """What the channel showed of each incident."""
    found = []
    for incident in raised:
        if not incident.parent_ts:
            found.append(Opened(incident, ""))
            continue
        parent = slack.message(channel, incident.parent_ts)
        replies = slack.thread(channel, incident.parent_ts)
        versions = [Message(ts="", channel="", user="", text=v.text, blocks=v.blocks) for v in parent.edits] + [parent]
        text = "\n".join([*(v.all_text() for v in versions), *(r.all_text() for r in replies)])
        found.append(
            Opened(
                incident,
                text,
                posts=1,
                edits=len(parent.edits),
                replies=len(replies),
                broadcasts=sum(1 for r in replies if r.broadcast),
                first_at=posted_at(parent.ts),
            )
        )
    return found


@dataclass(frozen=True)
class Match:
    """An expected incident and what the bot opened for it (None: it never did)."""

    wanted: ExpectedIncident
    found: Opened | None
    started: datetime

    @property
    def first_alert(self) -> timedelta | None:
        """The first alert's latency from the start of the scenario."""
        if self.found is None or self.found.first_at is None:
            return None
        return self.found.first_at - self.started

    @property
    def first_alert_by(self) -> timedelta | None:
        return parse_offset(self.wanted.first_alert_by) if self.wanted.first_alert_by else None


@dataclass
class Score:
    scenario: str
    healthy: bool
    opened: list[Opened]
    matches: list[Match]
    messages: int  # the whole channel
    max_messages: int | None
    precision: float = 1.0
    recall: float = 1.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and self.precision == 1.0 and self.recall == 1.0

    @property
    def healthy_alerts(self) -> int:
        """Messages posted about a scenario that should have given none."""
        return self.messages if self.healthy else 0

    def report(self) -> str:
        verdict = "meets its expectations" if self.passed else "FAILS its expectations"
        limit = f" (at most {self.max_messages})" if self.max_messages is not None else ""
        lines = [
            f"{self.scenario}: {verdict}",
            f"  warning-or-worse incidents: precision {self.precision:.2f}, recall {self.recall:.2f}",
            f"  messages in the channel: {self.messages}{limit}"
            + (" — a healthy scenario: none allowed" if self.healthy else ""),
        ]
        for match in self.matches:
            wanted = match.wanted
            head = f"  expected {wanted.kind} [{wanted.severity}]"
            if match.found is None:
                lines.append(f"{head}: never opened")
                continue
            found = match.found
            most = f" (at most {wanted.max_messages})" if wanted.max_messages is not None else ""
            first = _offset(match.first_alert) if match.first_alert is not None else "never posted"
            by = f" (by {_offset(match.first_alert_by)})" if match.first_alert_by is not None else ""
            lines.append(f"{head}: #{found.raised.id}, {found.messages} messages{most}, first alert {first}{by}")
        matched = {id(m.found) for m in self.matches if m.found is not None}
        for other in self.opened:
            if id(other) not in matched:
                lines.append(f"  also opened {other.kind} [{other.severity}] #{other.raised.id}: {other.raised.title}")
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)

    def row(self) -> list[str]:
        """One line of the corpus table."""
        firsts = [
            f"{_offset(m.first_alert)}/{_offset(m.first_alert_by)}"
            for m in self.matches
            if m.first_alert is not None and m.first_alert_by is not None
        ]
        per_incident = [
            f"{m.found.messages}/{m.wanted.max_messages if m.wanted.max_messages is not None else '-'}"
            for m in self.matches
            if m.found is not None
        ]
        return [
            self.scenario,
            f"{self.precision:.2f}",
            f"{self.recall:.2f}",
            str(self.healthy_alerts) if self.healthy else "-",
            f"{self.messages}/{self.max_messages if self.max_messages is not None else '-'}",
            " ".join(per_incident) or "-",
            " ".join(firsts) or "-",
            "ok" if self.passed else f"FAIL ({len(self.problems)})",
        ]


TABLE_HEADER = [
    "scenario", "precision", "recall", "healthy alerts", "messages/max",
    "per incident/max", "first alert/by", "verdict",
]


def table(scores: Sequence[Score]) -> str:
    """The corpus as a table, with the overall precision and recall of warning-or-worse incidents."""
    rows = [TABLE_HEADER, *(s.row() for s in scores)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_HEADER))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total = corpus(scores)
    lines.append("")
    lines.append(
        f"{len(scores)} scenarios, {total['passed']} meet their expectations; warning-or-worse incidents: "
        f"precision {total['precision']:.2f}, recall {total['recall']:.2f}; "
        f"alerts on healthy scenarios: {total['healthy_alerts']}"
    )
    return "\n".join(lines)


def corpus(scores: Sequence[Score]) -> dict[str, float | int]:
    """Precision and recall over every scenario's warning-or-worse incidents together."""
    opened = sum(sum(1 for o in s.opened if o.severity in SERIOUS) for s in scores)
    false = sum(sum(1 for o in _surplus(s) if o.severity in SERIOUS) for s in scores)
    expected = sum(sum(1 for m in s.matches if m.wanted.severity in SERIOUS) for s in scores)
    found = sum(sum(1 for m in s.matches if m.wanted.severity in SERIOUS and m.found is not None) for s in scores)
    return {
        "precision": (opened - false) / opened if opened else 1.0,
        "recall": found / expected if expected else 1.0,
        "healthy_alerts": sum(s.healthy_alerts for s in scores),
        "passed": sum(1 for s in scores if s.passed),
    }


def _surplus(result: Score) -> list[Opened]:
    matched = {id(m.found) for m in result.matches if m.found is not None}
    return [o for o in result.opened if id(o) not in matched]


def score(spec: ScenarioSpec, started: datetime, opened: list[Opened], messages: int) -> Score:
    """What the bot did (``opened``, ``messages`` in the channel) against what ``spec`` expects of it."""
    expect = spec.expect
    result = Score(spec.name, expect.healthy, opened, [], messages, expect.max_messages)
    if expect.healthy and messages:
        result.problems.append(f"a healthy scenario, but {messages} messages were posted")
    if expect.max_messages is not None and messages > expect.max_messages:
        result.problems.append(f"{messages} messages in the channel, at most {expect.max_messages} expected")
    unmatched = list(opened)
    for wanted in expect.incidents:
        found = _match(wanted, unmatched)
        result.matches.append(Match(wanted, found, started))
        if found is None:
            near = [f"{o.kind}[{o.severity}]" for o in unmatched if o.kind == wanted.kind]
            result.problems.append(f"no {wanted.kind} incident at {wanted.severity} (others of that kind: {near})")
            continue
        unmatched.remove(found)
        result.problems += _content_problems(result.matches[-1])
    for other in unmatched:
        if other.kind in expect.absent:
            result.problems.append(f"{other.kind} must not open, but #{other.raised.id} did: {other.raised.title}")
    serious = [o for o in opened if o.severity in SERIOUS]
    surplus = [o for o in unmatched if o.severity in SERIOUS]
    for other in surplus:
        result.problems.append(f"unexpected {other.kind} [{other.severity}]: {other.raised.title}")
    expected_serious = [m for m in result.matches if m.wanted.severity in SERIOUS]
    result.precision = (len(serious) - len(surplus)) / len(serious) if serious else 1.0
    result.recall = (
        sum(1 for m in expected_serious if m.found is not None) / len(expected_serious) if expected_serious else 1.0
    )
    return result


def _match(wanted: ExpectedIncident, candidates: list[Opened]) -> Opened | None:
    for candidate in candidates:
        if candidate.kind != wanted.kind or candidate.severity != wanted.severity:
            continue
        if wanted.scope is not None and candidate.raised.scope != wanted.scope:
            continue
        return candidate
    return None


def _content_problems(match: Match) -> list[str]:
    wanted, found = match.wanted, match.found
    assert found is not None
    problems = []
    text = found.text.lower()
    label = found.label()
    problems += [f"{label} never says {w!r}" for w in wanted.words if w.lower() not in text]
    problems += [f"{label} says {w!r}" for w in wanted.not_words if w.lower() in text]
    if wanted.broadcast is True and not found.broadcasts:
        problems.append(f"{label}: no reply reached the channel")
    if wanted.broadcast is False and found.broadcasts:
        problems.append(f"{label}: {found.broadcasts} replies were sent to the channel")
    if wanted.max_messages is not None and found.messages > wanted.max_messages:
        problems.append(f"{label}: {found.messages} messages, at most {wanted.max_messages} expected")
    if match.first_alert_by is not None:
        if match.first_alert is None:
            problems.append(f"{label}: never posted, its first alert was due by {_offset(match.first_alert_by)}")
        elif match.first_alert > match.first_alert_by:
            problems.append(
                f"{label}: first alert at {_offset(match.first_alert)}, due by {_offset(match.first_alert_by)}"
            )
    return problems


def _offset(span: timedelta | None) -> str:
    """``+15m``, ``+1h05m``, ``+45s`` from the start of the scenario."""
    if span is None:
        return "-"
    seconds = int(span.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
    return "+" + text + (f"{secs:02d}s" if secs else "")
