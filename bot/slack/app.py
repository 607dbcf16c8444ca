"""The bolt App: one app, whatever transport (Socket Mode or HTTP) delivers its requests.

Building it wires the pieces that every Slack request shares: the retrying
Web API client, the access policy as the router's ``authorize``, the audited
runner, and the listeners. Transports only feed it requests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.audit import AuditLog
from bot.commands.router import Router
from bot.metrics import Metrics, metrics as default_metrics
from bot.settings import Settings
from bot.slack.access import AccessPolicy, SlackUsergroups
from bot.slack.answer import Answerer
from bot.slack.answer_pool import AnswerPool
from bot.slack.client import build_web_client
from bot.slack.directory import Directory
from bot.slack.listeners import (
    ListenerDeps,
    ThreadDefaults,
    register_mention,
    register_run_command_button,
    register_slash_command,
)
from bot.slack.runner import CommandRunner

log = logging.getLogger(__name__)

Registrar = Callable[[App], None]
INTERNAL_ERROR_TEXT = "Something went wrong on the bot's side; the details are in its log."


def build_slack_app(
    settings: Settings,
    router: Router,
    *,
    client: WebClient | None = None,
    thread_defaults: ThreadDefaults | None = None,
    registrars: Sequence[Registrar] = (),
    metrics: Metrics | None = None,
    audit: AuditLog | None = None,
    answers: AnswerPool | None = None,
) -> App:
    """The bot's App. The router gets the access policy unless it already has an authorizer."""
    metrics = metrics or default_metrics
    client = client or build_web_client(settings.slack, metrics=metrics)
    signing_secret = settings.slack.signing_secret.get_secret_value() if settings.slack.signing_secret else ""
    app = App(client=client, signing_secret=signing_secret, process_before_response=False)
    if router.authorize is None:
        router.authorize = AccessPolicy(settings.access, SlackUsergroups(client, metrics=metrics))
    deps = ListenerDeps(
        runner=CommandRunner(router, audit or AuditLog(router.clock), metrics),
        answerer=Answerer(client, metrics),
        directory=Directory(client),
        answers=answers or AnswerPool(settings.slack.answer_workers, settings.slack.answer_backlog),
        thread_defaults=thread_defaults,
        sensitive=frozenset(name.lower() for name in settings.access.sensitive),
    )
    register_slash_command(app, settings.slack.command, deps)
    register_mention(app, deps)
    register_run_command_button(app, deps)
    for registrar in registrars:
        registrar(app)
    app.error(_on_error)
    return app


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
