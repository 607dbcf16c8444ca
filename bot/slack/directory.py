"""Names for the IDs Slack sends: a mention carries only user and channel IDs.

The audit log wants the user's name and per-channel cluster defaults may be
configured by channel name, so IDs are resolved once and remembered (names
change rarely and a stale one harms nothing). A failed lookup yields "".
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

log = logging.getLogger(__name__)


class Directory:
    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._users: dict[str, str] = {}
        self._channels: dict[str, str] = {}

    def user_name(self, user_id: str) -> str:
        if not user_id:
            return ""
        with self._lock:
            if user_id in self._users:
                return self._users[user_id]
        try:
            name = str(self._client.users_info(user=user_id)["user"].get("name", ""))
        except (SlackClientError, OSError, KeyError) as exc:
            log.info("cannot resolve user %s: %s", user_id, exc)
            return ""
        with self._lock:
            self._users[user_id] = name
        return name

    def channel_name(self, channel_id: str) -> str:
        if not channel_id:
            return ""
        with self._lock:
            if channel_id in self._channels:
                return self._channels[channel_id]
        try:
            name = str(self._client.conversations_info(channel=channel_id)["channel"].get("name", ""))
        except (SlackClientError, OSError, KeyError) as exc:
            log.info("cannot resolve channel %s: %s", channel_id, exc)
            return ""
        with self._lock:
            self._channels[channel_id] = name
        return name

    def remember_channel(self, channel_id: str, name: str) -> None:
        """Payloads that carry a name (slash commands, buttons) save a lookup later."""
        if channel_id and name:
            with self._lock:
                self._channels[channel_id] = name
