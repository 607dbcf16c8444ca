"""The listeners: turn a slash command, a mention or a button into an Invocation and answer it.

Each one acks at once (Slack gives up after 3 seconds) and hands the work to
the ``AnswerPool``, whose threads are not the ones that ack (see there why).
They read the payload, call the runner, hand the reply to the ``Answerer``;
what a command means and whether the user may run it is decided behind the
runner, not here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.commands.invocation import Invocation
from bot.commands.reply import Reply
from bot.slack.answer import Answerer
from bot.slack.answer_pool import BUSY_TEXT, AnswerPool
from bot.slack.directory import Directory
from bot.slack.runner import CommandRunner

log = logging.getLogger(__name__)

RUN_COMMAND_ACTION = re.compile(r"^run_command(:.*)?$")
ThreadDefaults = Callable[[str, str], dict[str, str]]  # (channel ID, thread ts) -> Invocation.defaults
_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s:,]*")


def unescape(text: str) -> str:
    """Undo Slack's escaping of user text (&amp; last, so "&amp;lt;" stays "&lt;")."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The command line of "@bot nodes": the leading mention (or the bot's own, wherever) removed."""
    stripped = _LEADING_MENTION.sub("", text, count=1)
    if stripped == text and bot_user_id:
        stripped = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text, count=1)
    return stripped.strip()


@dataclass
class ListenerDeps:
    runner: CommandRunner
    answerer: Answerer
    directory: Directory
    answers: AnswerPool
    thread_defaults: ThreadDefaults | None = None
    sensitive: frozenset[str] = frozenset()  # families answered privately even in a thread

    def defaults_for(self, channel_id: str, thread_ts: str | None) -> dict[str, str]:
        if self.thread_defaults is None or not thread_ts:
            return {}
        try:
            return dict(self.thread_defaults(channel_id, thread_ts) or {})
        except Exception:
            log.exception("thread_defaults failed for %s/%s; running without them", channel_id, thread_ts)
            return {}


def register_slash_command(app: App, command: str, deps: ListenerDeps) -> None:
    def answer(respond: Respond, command: dict[str, Any]) -> None:
        channel_id = command.get("channel_id", "")
        deps.directory.remember_channel(channel_id, command.get("channel_name", ""))
        invocation = Invocation(
            text=unescape(command.get("text", "")),
            origin="slash",
            user_id=command.get("user_id", ""),
            user_name=command.get("user_name", ""),
            channel_id=channel_id,
            channel_name=command.get("channel_name", ""),
        )
        reply, _ = deps.runner.run(invocation)
        deps.answerer.via_response_url(respond, reply, user_id=invocation.user_id, channel_id=channel_id)

    def acknowledge(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        if not deps.answers.has_room():
            ack(text=BUSY_TEXT)
            return
        spec = deps.runner.router.identify(unescape(command.get("text", "")))
        if spec is not None and spec.needs_cluster:
            ack(text=f"Working on `{spec.name}`…")  # a cluster is asked: say something meanwhile
        else:
            ack()
        if not deps.answers.submit(lambda: answer(respond, command)):
            respond(text=BUSY_TEXT, response_type="ephemeral", replace_original=False)

    app.command(command)(acknowledge)


def register_mention(app: App, deps: ListenerDeps) -> None:
    def answer(event: dict[str, Any], bot_user_id: str | None) -> None:
        channel_id = event.get("channel", "")
        thread_ts = event.get("thread_ts") or event.get("ts", "")
        user_id = event.get("user", "")
        invocation = Invocation(
            text=strip_mention(unescape(event.get("text", "")), bot_user_id),
            origin="mention",
            user_id=user_id,
            user_name=deps.directory.user_name(user_id),
            channel_id=channel_id,
            channel_name=deps.directory.channel_name(channel_id),
            thread_ts=thread_ts,
            defaults=deps.defaults_for(channel_id, event.get("thread_ts")),
        )
        reply, outcome = deps.runner.run(invocation)
        spec = deps.runner.router.identify(invocation.text)
        private = outcome.outcome == "forbidden" or (
            spec is not None and (spec.sensitive or spec.family in deps.sensitive)
        )
        deps.answerer.in_thread(reply, channel_id=channel_id, thread_ts=thread_ts, user_id=user_id, private=private)

    def acknowledge(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        ack()
        if not deps.answers.submit(lambda: answer(event, context.bot_user_id)):
            deps.answerer.in_thread(
                Reply(text=BUSY_TEXT, plain=BUSY_TEXT, ok=False, outcome="busy"),
                channel_id=event.get("channel", ""),
                thread_ts=event.get("thread_ts") or event.get("ts", ""),
                user_id=event.get("user", ""),
                private=True,
            )

    app.event("app_mention")(acknowledge)


def register_run_command_button(app: App, deps: ListenerDeps) -> None:
    def answer(respond: Respond, body: dict[str, Any], action: dict[str, Any]) -> None:
        channel = body.get("channel") or {}
        container = body.get("container") or {}
        user = body.get("user") or {}
        channel_id = channel.get("id") or container.get("channel_id", "")
        thread_ts = container.get("thread_ts")
        invocation = Invocation(
            text=str(action.get("value") or ""),
            origin="button",
            user_id=user.get("id", ""),
            user_name=user.get("username") or user.get("name", ""),
            channel_id=channel_id,
            channel_name=channel.get("name", ""),
            thread_ts=thread_ts,
            defaults=deps.defaults_for(channel_id, thread_ts or container.get("message_ts")),
        )
        reply, _ = deps.runner.run(invocation)
        deps.answerer.via_response_url(
            respond, reply, user_id=invocation.user_id, channel_id=channel_id, thread_ts=thread_ts
        )

    def acknowledge(ack: Ack, respond: Respond, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        if not deps.answers.submit(lambda: answer(respond, body, action)):
            respond(text=BUSY_TEXT, response_type="ephemeral", replace_original=False)

    app.action(RUN_COMMAND_ACTION)(acknowledge)
