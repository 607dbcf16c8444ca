"""The response_url endpoints Slack hands out with slash commands and button clicks.

The bot acks at once and answers later through these URLs, so they are where
most command answers land. Posts are validated like messages, and their
effects follow Slack's: an in_channel answer becomes a channel message,
replace_original edits the clicked message, delete_original removes it, and
anything else is an ephemeral only the clicking user sees.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sim.slack.records import ResponsePost
from sim.slack.validation import ContentError, check_message, parse_blocks
from sim.slack.workspace import SlackError, SlackWorkspace


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    return value is True or str(value).lower() in ("true", "1")


def apply_response(workspace: SlackWorkspace, url_id: str, body: Any, *, via: str = "response_url") -> tuple[int, str | None]:
    """Carry out one answer to a response_url (or a command's ack body) and record it.

    Returns the HTTP status and error code the poster gets back.
    """
    target = workspace.response_url(url_id)
    if target is None:
        return 404, "expired_url"
    if not isinstance(body, dict):
        return _refuse(workspace, url_id, {}, 400, "invalid_payload", via)
    replace, delete = _flag(body, "replace_original"), _flag(body, "delete_original")
    text = "" if body.get("text") is None else str(body["text"])
    try:
        blocks = parse_blocks(body.get("blocks"))
        if not delete:
            check_message(text, blocks, attachments=body.get("attachments"))
    except ContentError as exc:
        return _refuse(workspace, url_id, body, 400, exc.code, via)
    response_type = "in_channel" if body.get("response_type") == "in_channel" else "ephemeral"
    thread_ts = body.get("thread_ts") or None
    try:
        if delete and target.message_ts and not target.is_ephemeral_source:
            workspace.delete_message(target.channel, target.message_ts)
        elif replace and target.message_ts and not target.is_ephemeral_source:
            workspace.update_message(target.channel, target.message_ts, text=text, blocks=blocks)
        elif delete or replace:
            pass  # an ephemeral original only the user saw: nothing shared changes
        elif response_type == "in_channel":
            workspace.post_message(
                target.channel, user=workspace.bot_user_id, text=text, blocks=blocks, thread_ts=thread_ts
            )
        else:
            workspace.post_ephemeral(
                target.channel, user=target.user, text=text, blocks=blocks, thread_ts=thread_ts, via=via
            )
    except SlackError as exc:
        return _refuse(workspace, url_id, body, 404, exc.code, via)
    workspace.record_response(_post(workspace, url_id, body, response_type, text, blocks, 200, None, via))
    return 200, None


def _refuse(
    workspace: SlackWorkspace, url_id: str, body: dict[str, Any], status: int, error: str, via: str
) -> tuple[int, str | None]:
    text = "" if body.get("text") is None else str(body.get("text"))
    blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
    kind = "in_channel" if body.get("response_type") == "in_channel" else "ephemeral"
    workspace.record_response(_post(workspace, url_id, body, kind, text, blocks, status, error, via))
    return status, error


def _post(
    workspace: SlackWorkspace,
    url_id: str,
    body: dict[str, Any],
    response_type: str,
    text: str,
    blocks: list[dict[str, Any]] | None,
    status: int,
    error: str | None,
    via: str,
) -> ResponsePost:
    return ResponsePost(
        response_url_id=url_id,
        response_type=response_type,
        text=text,
        blocks=blocks,
        replace_original=_flag(body, "replace_original"),
        delete_original=_flag(body, "delete_original"),
        thread_ts=body.get("thread_ts") or None,
        at=workspace.clock.now(),
        status=status,
        error=error,
        via=via,
    )


class ResponseUrlEndpoint:
    """``POST /response/{id}``: one handler for every response_url of the workspace."""

    def __init__(self, workspace: SlackWorkspace) -> None:
        self._workspace = workspace

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        status, error = apply_response(self._workspace, request.match_info["url_id"], body)
        if error is None:
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "error": error}, status=status)
