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


class ResponseUrlEndpoint:
    """``POST /response/{id}``: one handler for every response_url of the workspace."""

    def __init__(self, workspace: SlackWorkspace) -> None:
        self._workspace = workspace

    async def handle(self, request: web.Request) -> web.Response:
        url_id = request.match_info["url_id"]
        target = self._workspace.response_url(url_id)
        if target is None:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        try:
            body = json.loads(await request.text())
        except ValueError:
            return self._refuse(url_id, {}, 400, "invalid_payload")
        if not isinstance(body, dict):
            return self._refuse(url_id, {}, 400, "invalid_payload")
        replace, delete = _flag(body, "replace_original"), _flag(body, "delete_original")
        text = "" if body.get("text") is None else str(body["text"])
        try:
            blocks = parse_blocks(body.get("blocks"))
            if not delete:
                check_message(text, blocks, attachments=body.get("attachments"))
        except ContentError as exc:
            return self._refuse(url_id, body, 400, exc.code)
        response_type = "in_channel" if body.get("response_type") == "in_channel" else "ephemeral"
        thread_ts = body.get("thread_ts") or None
        ws = self._workspace
        try:
            if delete and target.message_ts and not target.is_ephemeral_source:
                ws.delete_message(target.channel, target.message_ts)
            elif replace and target.message_ts and not target.is_ephemeral_source:
                ws.update_message(target.channel, target.message_ts, text=text, blocks=blocks)
            elif delete or replace:
                pass  # an ephemeral original only the user saw: nothing shared changes
            elif response_type == "in_channel":
                ws.post_message(target.channel, user=ws.bot_user_id, text=text, blocks=blocks, thread_ts=thread_ts)
            else:
                ws.post_ephemeral(
                    target.channel, user=target.user, text=text, blocks=blocks, thread_ts=thread_ts, via="response_url"
                )
        except SlackError as exc:
            return self._refuse(url_id, body, 404, exc.code)
        ws.record_response(self._post(url_id, body, response_type, text, blocks, 200, None))
        return web.json_response({"ok": True})

    def _refuse(self, url_id: str, body: dict[str, Any], status: int, error: str) -> web.Response:
        text = "" if body.get("text") is None else str(body.get("text"))
        blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
        kind = "in_channel" if body.get("response_type") == "in_channel" else "ephemeral"
        self._workspace.record_response(self._post(url_id, body, kind, text, blocks, status, error))
        return web.json_response({"ok": False, "error": error}, status=status)

    def _post(
        self,
        url_id: str,
        body: dict[str, Any],
        response_type: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        status: int,
        error: str | None,
    ) -> ResponsePost:
        return ResponsePost(
            response_url_id=url_id,
            response_type=response_type,
            text=text,
            blocks=blocks,
            replace_original=_flag(body, "replace_original"),
            delete_original=_flag(body, "delete_original"),
            thread_ts=body.get("thread_ts") or None,
            at=self._workspace.clock.now(),
            status=status,
            error=error,
        )
