"""The bolt App: Slack requests in, through the one door, answers out.

One app, whatever transport (Socket Mode or HTTP) delivers its requests.
Every listener here acks at once (Slack gives up after 3 seconds), turns the
payload into an ``Invocation`` and hands it to the ``Door`` on a worker of the
``AnswerPool``; what a command means, whether the user may run it, the audit
line and the metrics are all decided behind the door, never here. Every
button the bot draws (drill-downs and the incident's Acknowledge, Resolve and
Mute alike) carries a command line, so a click is a command like any other.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import RUN_COMMAND, Reply
from bot.commands.door import Door
from bot.commands.registry import Invocation
from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.settings import Settings
from bot.slack.client import build_web_client
from bot.slack.delivery import BUSY_TEXT, Answerer, AnswerPool
from bot.slack.directory import Directory

log = logging.getLogger(__name__)

INTERNAL_ERROR_TEXT = "Something went wrong on the bot's side; the details are in its log."
ThreadDefaults = Callable[[str, str], dict[str, str]]  # (channel ID, thread ts) -> Invocation.defaults
_COMMAND_ACTION = re.compile(rf"^{RUN_COMMAND}(:.*)?$")
_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s:,]*")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
DEFAULT_MEMBERSHIP_TTL = 300.0


def unescape(text: str) -> str:
    """Undo Slack's escaping of user text (&amp; last, so "&amp;lt;" stays "&lt;")."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The command line of "@bot nodes": the leading mention (or the bot's own, wherever) removed."""
    stripped = _LEADING_MENTION.sub("", text, count=1)
    if stripped == text and bot_user_id:
        stripped = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text, count=1)
    return stripped.strip()


def build_slack_app(
    settings: Settings,
    door: Door,
    *,
    client: WebClient | None = None,
    thread_defaults: ThreadDefaults | None = None,
    metrics: Metrics | None = None,
    answers: AnswerPool | None = None,
) -> App:
    """The bot's App. The door's access policy learns user groups from this Slack."""
    metrics = metrics or default_metrics
    client = client or build_web_client(settings.slack, metrics=metrics)
    signing_secret = settings.slack.signing_secret.get_secret_value() if settings.slack.signing_secret else ""
    # No auth.test while the app is built: Slack may be having a bad minute, and the Slack link
    # (bot.slack.transports) checks the token, retrying and reporting, before the bot is ready.
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=False,
        token_verification_enabled=False,
        before_authorize=_stamp_arrival,
    )
    if door.access.usergroup_lookup is None:
        door.access.usergroup_lookup = SlackUsergroups(client, metrics=metrics)
    listeners = Listeners(
        door=door,
        answerer=Answerer(client, metrics),
        directory=Directory(client),
        answers=answers or AnswerPool(settings.slack.answer_workers, settings.slack.answer_backlog),
        thread_defaults=thread_defaults,
        metrics=metrics,
    )
    app.command(settings.slack.command)(listeners.slash_command)
    app.event("app_mention")(listeners.mention)
    app.action(_COMMAND_ACTION)(listeners.button)
    app.error(_on_error)
    return app


ARRIVED = "k8s_chatops_arrived"  # the context key _stamp_arrival sets


def _stamp_arrival(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 (bolt's name)
    """Bolt's first middleware once the request is verified: when it arrived, for the ack latency."""
    context[ARRIVED] = time.monotonic()
    return next()


@dataclass
class Listeners:
    """The three ways a command arrives; each acks, then runs it through the door on the pool."""

    door: Door
    answerer: Answerer
    directory: Directory
    answers: AnswerPool
    thread_defaults: ThreadDefaults | None = None
    metrics: Metrics = default_metrics

    def _ack(self, kind: str, ack: Ack, context: BoltContext, text: str | None = None) -> None:
        """Acknowledge, and record how long it took since the request arrived."""
        if text is None:
            ack()
        else:
            ack(text=text)
        arrived = context.get(ARRIVED)
        if isinstance(arrived, float):
            self.metrics.acked(kind, time.monotonic() - arrived)

    def defaults_for(self, channel_id: str, thread_ts: str | None) -> dict[str, str]:
        """An incident thread's cluster and scope, so commands asked there need no ``--cluster``."""
        if self.thread_defaults is None or not thread_ts:
            return {}
        try:
            return dict(self.thread_defaults(channel_id, thread_ts) or {})
        except Exception:
            log.exception("thread_defaults failed for %s/%s; running without them", channel_id, thread_ts)
            return {}

    # -- slash commands ----------------------------------------------------------------

    def slash_command(self, ack: Ack, respond: Respond, command: dict[str, Any], context: BoltContext) -> None:
        if not self.answers.has_room():
            self.metrics.busy("slash")
            self._ack("slash", ack, context, BUSY_TEXT)
            return
        invocation = _slash_invocation(command)
        spec = self.door.identify(invocation.text)
        # A cluster is asked: say something meanwhile, unless the rules may refuse (a refusal follows at once).
        if spec is not None and spec.needs_cluster and self.door.access.allowed_at_once(spec, invocation):
            self._ack("slash", ack, context, f"Working on `{spec.name}`…")
        else:
            self._ack("slash", ack, context)
        lane = self.door.lane(invocation.text, channel_id=invocation.channel_id, channel_name=invocation.channel_name)
        if not self.answers.submit(lambda: self._answer_slash(respond, invocation, command), lane):
            self.metrics.busy("slash")
            respond(text=BUSY_TEXT, response_type="ephemeral", replace_original=False)

    def _answer_slash(self, respond: Respond, invocation: Invocation, command: dict[str, Any]) -> None:
        self.directory.remember_channel(invocation.channel_id, command.get("channel_name", ""))
        reply = self.door.run(invocation).reply
        self.answerer.via_response_url(respond, reply, user_id=invocation.user_id, channel_id=invocation.channel_id)

    # -- mentions ------------------------------------------------------------------------

    def mention(self, ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        self._ack("mention", ack, context)
        text = strip_mention(unescape(event.get("text", "")), context.bot_user_id)
        lane = self.door.lane(text, channel_id=event.get("channel", ""))
        if not self.answers.submit(lambda: self._answer_mention(event, context.bot_user_id), lane):
            self.metrics.busy("mention")
            self.answerer.in_thread(
                Reply(text=BUSY_TEXT, plain=BUSY_TEXT, ok=False, outcome="busy"),
                channel_id=event.get("channel", ""),
                thread_ts=event.get("thread_ts") or event.get("ts", ""),
                user_id=event.get("user", ""),
                private=True,
            )

    def _answer_mention(self, event: dict[str, Any], bot_user_id: str | None) -> None:
        channel_id = event.get("channel", "")
        thread_ts = event.get("thread_ts") or event.get("ts", "")
        user_id = event.get("user", "")
        invocation = Invocation(
            text=strip_mention(unescape(event.get("text", "")), bot_user_id),
            origin="mention",
            user_id=user_id,
            user_name=self.directory.user_name(user_id),
            channel_id=channel_id,
            channel_name=self.directory.channel_name(channel_id),
            thread_ts=thread_ts,
            defaults=self.defaults_for(channel_id, event.get("thread_ts")),
        )
        answer = self.door.run(invocation)
        self.answerer.in_thread(
            answer.reply, channel_id=channel_id, thread_ts=thread_ts, user_id=user_id, private=answer.private
        )

    # -- buttons -------------------------------------------------------------------------

    def button(
        self, ack: Ack, respond: Respond, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        self._ack("button", ack, context)
        channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        lane = self.door.lane(str(action.get("value") or ""), channel_id=channel_id)
        if not self.answers.submit(lambda: self._answer_button(respond, body, action), lane):
            self.metrics.busy("button")
            respond(text=BUSY_TEXT, response_type="ephemeral", replace_original=False)

    def _answer_button(self, respond: Respond, body: dict[str, Any], action: dict[str, Any]) -> None:
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
            defaults=self.defaults_for(channel_id, thread_ts or container.get("message_ts")),
        )
        reply = self.door.run(invocation).reply
        if reply.quiet:
            return
        self.answerer.via_response_url(
            respond, reply, user_id=invocation.user_id, channel_id=channel_id, thread_ts=thread_ts
        )


def _slash_invocation(command: dict[str, Any]) -> Invocation:
    return Invocation(
        text=unescape(command.get("text", "")),
        origin="slash",
        user_id=command.get("user_id", ""),
        user_name=command.get("user_name", ""),
        channel_id=command.get("channel_id", ""),
        channel_name=command.get("channel_name", ""),
    )


def _on_error(
    error: Exception, body: dict[str, Any], logger: logging.Logger, response: BoltResponse | None
) -> BoltResponse | None:
    """Our own exceptions are logged; Slack gets a normal answer instead of "dispatch_failed"."""
    kind = body.get("type") or body.get("command") or "request"
    log.error("a Slack listener failed on %s", kind, exc_info=error)
    if response is None:
        return None
    return BoltResponse(
        status=200,
        body=json.dumps({"response_type": "ephemeral", "text": INTERNAL_ERROR_TEXT}),
        headers={"content-type": "application/json"},
    )


# -- user groups, for the access rules ---------------------------------------------------------

class SlackUsergroups:
    """Member lists of Slack user groups, fetched on demand and kept for ``ttl`` seconds.

    A membership change takes effect within ``ttl``; a failed lookup is an
    empty group, so it denies rather than allows.
    """

    def __init__(
        self,
        client: WebClient,
        *,
        ttl: float = DEFAULT_MEMBERSHIP_TTL,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._monotonic = monotonic
        self._metrics = metrics or default_metrics
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def __call__(self, group: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(group)
            if cached and now - cached[0] < self._ttl:
                return cached[1]
        members = self._fetch(group)
        with self._lock:
            self._cache[group] = (now, members)
        return members

    def _fetch(self, group: str) -> frozenset[str]:
        try:
            group_id = group if _GROUP_ID.match(group) else self._id_of_handle(group.lstrip("@"))
            if group_id is None:
                log.warning("access rule names user group %r, which Slack does not know", group)
                return frozenset()
            answer = self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            self._metrics.slack_api_error("usergroups", error)
            log.warning("cannot read the members of user group %r (%s); treating it as empty", group, error)
            return frozenset()
        return frozenset(answer.get("users") or [])

    def _id_of_handle(self, handle: str) -> str | None:
        answer = self._client.usergroups_list()
        for item in answer.get("usergroups") or []:
            if item.get("handle") == handle:
                return str(item["id"])
        return None
