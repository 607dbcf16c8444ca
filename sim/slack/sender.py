"""Slack's side of a conversation with the bot: what Slack sends when a user acts.

A test (or the demo) plays the user: it types a slash command, clicks a
button, mentions the bot. The sender builds the payload Slack would build,
with a response_url pointing back at this simulation, and delivers it over
Socket Mode or as a signed HTTP request, then applies the ack the way Slack
does (a slash command's ack body is shown to the user).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sim.slack.methods import message_json
from sim.slack.response_urls import apply_response
from sim.slack.signing import signature as sign

if TYPE_CHECKING:
    from sim.server import SimServer
    from sim.world import World

Via = Literal["socket", "http"]
SLACK_ACK_DEADLINE = 3.0  # seconds Slack waits before telling the user the app did not respond
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass
class Delivery:
    """The outcome of one delivery, as Slack would see it."""

    via: Via
    acked: bool
    status: int | None  # HTTP status over HTTP; None over Socket Mode
    body: Any  # the ack payload (Socket Mode) or the parsed HTTP response body
    latency: float | None  # real seconds until the ack
    response_url_id: str | None = None  # where the bot's later answers land: workspace.responses(id)
    envelope_id: str | None = None
    message_ts: str | None = None  # the message the user posted (app mentions)

    @property
    def within_deadline(self) -> bool:
        return self.acked and self.latency is not None and self.latency <= SLACK_ACK_DEADLINE


class SlackSender:
    """Delivers user actions to the bot; ``bot_url`` is the bot's HTTP endpoint (e.g. .../slack/events)."""

    def __init__(
        self, world: World, server: SimServer, *, bot_url: str | None = None, ack_timeout: float = 10.0
    ) -> None:
        self._world = world
        self._server = server
        self.workspace = world.slack
        self.bot_url = bot_url
        self.ack_timeout = ack_timeout

    # -- what users do -----------------------------------------------------------

    def slash_command(
        self,
        command: str = "/k8s",
        text: str = "",
        *,
        user: str = "alice",
        channel: str = "ops",
        via: Via = "socket",
        url: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Delivery:
        ws = self.workspace
        user_id, place = ws.user_id(user), ws.channel(channel)
        response_url = ws.new_response_url(place.id, user_id)
        payload = {
            "token": ws.verification_token,
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            "channel_id": place.id,
            "channel_name": "directmessage" if place.is_im else place.name,
            "user_id": user_id,
            "user_name": ws.user(user_id).name,
            "command": command,
            "text": text,
            "api_app_id": ws.app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(response_url.id),
            "trigger_id": self._trigger_id(),
        }
        if via == "socket":
            delivery = self._over_socket("slash_commands", payload, accepts_response_payload=True)
        else:
            body = urllib.parse.urlencode(payload)
            delivery = self._over_http(body, "application/x-www-form-urlencoded", url, timestamp, signature)
        delivery.response_url_id = response_url.id
        self._show_ack(delivery)
        return delivery

    def block_action(
        self,
        action_id: str,
        value: str = "",
        *,
        user: str = "alice",
        channel: str = "alerts",
        message_ts: str,
        thread_ts: str | None = None,
        ephemeral: bool = False,
        via: Via = "socket",
        url: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Delivery:
        """A click on the button ``action_id`` of the message at ``message_ts``."""
        ws = self.workspace
        user_id, place = ws.user_id(user), ws.channel(channel)
        user_name = ws.user(user_id).name
        response_url = ws.new_response_url(
            place.id, user_id, message_ts=message_ts, thread_ts=thread_ts, is_ephemeral_source=ephemeral
        )
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": place.id,
            "is_ephemeral": ephemeral,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": ws.team_id},
            "api_app_id": ws.app_id,
            "token": ws.verification_token,
            "container": container,
            "trigger_id": self._trigger_id(),
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": place.id, "name": place.name},
            "state": {"values": {}},
            "response_url": self._response_url(response_url.id),
            "actions": [self._action(action_id, value, place.id, message_ts, ephemeral)],
        }
        if not ephemeral:
            payload["message"] = message_json(ws, ws.message(place.id, message_ts))
        if via == "socket":
            delivery = self._over_socket("interactive", payload, accepts_response_payload=False)
        else:
            body = urllib.parse.urlencode({"payload": json.dumps(payload)})
            delivery = self._over_http(body, "application/x-www-form-urlencoded", url, timestamp, signature)
        delivery.response_url_id = response_url.id
        return delivery

    def app_mention(
        self,
        text: str,
        *,
        user: str = "alice",
        channel: str = "alerts",
        thread_ts: str | None = None,
        via: Via = "socket",
        url: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Delivery:
        """A user message mentioning the bot; it is posted to the channel (or thread) first, as in Slack."""
        ws = self.workspace
        user_id, place = ws.user_id(user), ws.channel(channel)
        mention = f"<@{ws.bot_user_id}>"
        full_text = text if mention in text else f"{mention} {text}"
        message = ws.post_message(place.id, user=user_id, text=full_text, thread_ts=thread_ts)
        event: dict[str, Any] = {
            "type": "app_mention",
            "user": user_id,
            "text": full_text,
            "ts": message.ts,
            "team": ws.team_id,
            "channel": place.id,
            "event_ts": message.ts,
            "client_msg_id": secrets.token_hex(16),
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        payload = {
            "token": ws.verification_token,
            "team_id": ws.team_id,
            "api_app_id": ws.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(float(message.ts)),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(12)}",
        }
        if via == "socket":
            delivery = self._over_socket("events_api", payload, accepts_response_payload=False)
        else:
            delivery = self._over_http(json.dumps(payload), "application/json", url, timestamp, signature)
        delivery.message_ts = message.ts
        return delivery

    # -- Socket Mode connection control ---------------------------------------------

    def request_socket_refresh(self, reason: str = "refresh_requested") -> int:
        """Send Slack's ``disconnect`` message to every connected app; returns how many got it."""
        return self._run(self.workspace.socket.request_refresh(reason))

    def drop_socket_connections(self) -> None:
        """Close every Socket Mode connection abruptly, as a network failure would."""
        self._run(self.workspace.socket.close_all())

    # -- delivery -------------------------------------------------------------------------

    def _run(self, coroutine: Any) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._server.loop)
        return future.result(self.ack_timeout + 30)

    def _over_socket(self, envelope_type: str, payload: dict[str, Any], *, accepts_response_payload: bool) -> Delivery:
        record = self._run(
            self.workspace.socket.deliver(
                envelope_type,
                payload,
                accepts_response_payload=accepts_response_payload,
                ack_timeout=self.ack_timeout,
            )
        )
        return Delivery(
            via="socket",
            acked=record.acked,
            status=None,
            body=record.ack_payload,
            latency=record.ack_seconds,
            envelope_id=record.envelope_id,
        )

    def _over_http(
        self, body: str, content_type: str, url: str | None, timestamp: int | None, signature: str | None
    ) -> Delivery:
        target = url or self.bot_url
        if not target:
            raise ValueError("no bot URL: pass url= or construct SlackSender(bot_url=...)")
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or sign(self.workspace.signing_secret, stamp, body),
        }
        request = urllib.request.Request(target, data=body.encode("utf-8"), headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.ack_timeout) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            # the bot is down or too slow: Slack tells the user the app did not respond
            return Delivery(via="http", acked=False, status=None, body=str(error), latency=None)
        latency = time.monotonic() - started
        return Delivery(via="http", acked=status == 200, status=status, body=_parse_body(raw), latency=latency)

    def _show_ack(self, delivery: Delivery) -> None:
        """A slash command's ack body is an answer the user sees, like a response_url post."""
        body = delivery.body
        if not delivery.acked or not body or delivery.response_url_id is None:
            return
        if isinstance(body, str):
            body = {"text": body}
        apply_response(self.workspace, delivery.response_url_id, body, via="ack")

    # -- payload parts ------------------------------------------------------------------

    def _response_url(self, url_id: str) -> str:
        endpoints = self._server.endpoints
        assert endpoints is not None, "the server must be started"
        return f"{endpoints.slack_root}response/{url_id}"

    def _trigger_id(self) -> str:
        return f"{int(time.time())}.{self.workspace.team_id}.{secrets.token_hex(16)}"

    def _action(
        self, action_id: str, value: str, channel_id: str, message_ts: str, ephemeral: bool
    ) -> dict[str, Any]:
        """The clicked button as Slack describes it, taken from the message's blocks when they hold it."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": secrets.token_hex(3),
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if ephemeral:
            return action
        for block in self.workspace.message(channel_id, message_ts).blocks or []:
            for element in [*block.get("elements", []), block.get("accessory") or {}]:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    action["block_id"] = block.get("block_id", action["block_id"])
                    action["text"] = element.get("text", action["text"])
                    action["type"] = element.get("type", "button")
                    if not value and "value" in element:
                        action["value"] = element["value"]
                    return action
        return action


def _parse_body(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
