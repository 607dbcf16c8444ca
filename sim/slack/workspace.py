"""The simulated Slack workspace: its channels and people, and the record of everything said.

Tests play the user: they read what the bot posted (messages, threads, edits,
ephemerals, response_url answers, files) from here and wait on it while the
bot answers asynchronously. Every change notifies one condition, so
``wait_for`` wakes exactly when something new was recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sim.clock import SimClock
from sim.slack.records import (
    ApiCall,
    Blocks,
    Ephemeral,
    Message,
    MessageVersion,
    ResponsePost,
    ResponseUrl,
    UploadedFile,
)
from sim.slack.socket_mode import SocketModeHub

T = TypeVar("T")


class SlackError(Exception):
    """A Web API error answer; ``code`` is what Slack puts in ``error``."""

    def __init__(self, code: str, details: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = details or []


@dataclass
class Channel:
    id: str
    name: str
    is_im: bool = False
    im_user: str | None = None


@dataclass
class User:
    id: str
    name: str
    is_bot: bool = False
    groups: set[str] = field(default_factory=set)


class SlackWorkspace:
    """One team with one installed app (the bot), as seen by its Web API and its users."""

    team_id = "T0SIM"
    team_domain = "sim"
    team_name = "Simulated Ops"
    bot_token = "xoxb-sim-token"
    app_token = "xapp-sim-token"
    signing_secret = "sim-signing-secret"
    verification_token = "sim-verification-token"
    app_id = "A0SIMAPP"
    bot_id = "B0SIMBOT"
    bot_user_id = "U0SIMBOT"
    bot_name = "k8s-chatops"

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.changed = threading.Condition(threading.RLock())
        self._counters: dict[str, int] = {}
        self._last_ts_micros = 0
        self._channels: dict[str, Channel] = {}
        self._users: dict[str, User] = {}
        self._usergroups: dict[str, str] = {}  # id -> handle
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._response_urls: dict[str, ResponseUrl] = {}
        self._responses: list[ResponsePost] = []
        self._files: dict[str, UploadedFile] = {}
        self.calls: list[ApiCall] = []
        self._users[self.bot_user_id] = User(self.bot_user_id, self.bot_name, is_bot=True)
        self.socket = SocketModeHub(self)
        self.add_channel("alerts")
        self.add_channel("ops")
        self.add_user("alice")

    # -- people and places -------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}0{self._counters[prefix]:07d}"

    def add_channel(self, name: str) -> str:
        name = name.lstrip("#")
        with self.changed:
            for channel in self._channels.values():
                if channel.name == name and not channel.is_im:
                    return channel.id
            channel_id = self._new_id("C")
            self._channels[channel_id] = Channel(channel_id, name)
            self._messages[channel_id] = []
            self.changed.notify_all()
            return channel_id

    def add_usergroup(self, handle: str) -> str:
        with self.changed:
            for group_id, known in self._usergroups.items():
                if known == handle:
                    return group_id
            group_id = self._new_id("S")
            self._usergroups[group_id] = handle
            return group_id

    def usergroups(self) -> list[tuple[str, str]]:
        """(id, handle) of every user group, as usergroups.list reports them."""
        with self.changed:
            return list(self._usergroups.items())

    def add_user(self, name: str, *, groups: Iterable[str] = ()) -> str:
        with self.changed:
            user_id = next((u.id for u in self._users.values() if u.name == name), None) or self._new_id("U")
            user = self._users.setdefault(user_id, User(user_id, name))
            for handle in groups:
                user.groups.add(self.add_usergroup(handle))
            return user_id

    def channel_id(self, name: str) -> str:
        with self.changed:
            return self._channel(name).id

    def user_id(self, name: str) -> str:
        with self.changed:
            for user in self._users.values():
                if user.name == name or user.id == name:
                    return user.id
            raise KeyError(f"no user named {name!r}")

    def user(self, user_id: str) -> User:
        with self.changed:
            try:
                return self._users[user_id]
            except KeyError:
                raise SlackError("user_not_found") from None

    def channel(self, ref: str) -> Channel:
        with self.changed:
            return self._channel(ref)

    def usergroup_members(self, group_id: str) -> list[str]:
        with self.changed:
            if group_id not in self._usergroups:
                raise SlackError("no_such_subteam")
            return [u.id for u in self._users.values() if group_id in u.groups]

    def _channel(self, ref: str) -> Channel:
        ref = ref.lstrip("#")
        if ref in self._channels:
            return self._channels[ref]
        for channel in self._channels.values():
            if channel.name == ref and not channel.is_im:
                return channel
        if ref in self._users:  # posting to a user id lands in the DM with them
            return self._open_im(ref)
        raise SlackError("channel_not_found")

    def open_im(self, user_id: str) -> Channel:
        with self.changed:
            if user_id not in self._users:
                raise SlackError("user_not_found")
            return self._open_im(user_id)

    def _open_im(self, user_id: str) -> Channel:
        for channel in self._channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        channel_id = self._new_id("D")
        self._channels[channel_id] = Channel(channel_id, channel_id, is_im=True, im_user=user_id)
        self._messages[channel_id] = []
        return self._channels[channel_id]

    # -- time ------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts: the simulated time in microseconds, unique and increasing like Slack's."""
        with self.changed:
            micros = max(int(self.clock.now().timestamp() * 1_000_000), self._last_ts_micros + 1)
            self._last_ts_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- reading the record ----------------------------------------------------

    def broadcasts(self, channel: str) -> list[Message]:
        """Thread replies that were also sent to the channel (reply_broadcast), oldest first."""
        with self.changed:
            found = self._messages[self._channel(channel).id]
            return [m for m in found if m.is_reply and m.broadcast and not m.deleted]

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel (by id or name), oldest first, deleted ones left out."""
        with self.changed:
            found = self._messages[self._channel(channel).id]
            return [m for m in found if not m.is_reply and not m.deleted]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies in the thread under ``ts``, oldest first (the parent itself left out)."""
        with self.changed:
            found = self._messages[self._channel(channel).id]
            return [m for m in found if m.is_reply and m.thread_ts == ts and not m.deleted]

    def message(self, channel: str, ts: str) -> Message:
        with self.changed:
            for message in self._messages[self._channel(channel).id]:
                if message.ts == ts and not message.deleted:
                    return message
            raise SlackError("message_not_found")

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        with self.changed:
            channel_id = self._channel(channel).id if channel else None
            user_id = self.user_id(user) if user else None
            return [
                e
                for e in self._ephemerals
                if (channel_id is None or e.channel == channel_id) and (user_id is None or e.user == user_id)
            ]

    def responses(self, response_url_id: str | None = None) -> list[ResponsePost]:
        """Posts the app made to response_urls, all or those to one of them, oldest first."""
        with self.changed:
            return [r for r in self._responses if response_url_id is None or r.response_url_id == response_url_id]

    @property
    def files(self) -> list[UploadedFile]:
        with self.changed:
            return list(self._files.values())

    def calls_to(self, method: str) -> list[ApiCall]:
        with self.changed:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Block until ``predicate()`` is truthy (re-checked on every record change) and return it."""
        with self.changed:
            result = self.changed.wait_for(predicate, timeout)
            if not result:
                raise TimeoutError(f"the Slack record did not satisfy the condition within {timeout}s")
            return result

    # -- writing the record ----------------------------------------------------

    def record_call(self, call: ApiCall) -> None:
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

    def post_message(
        self,
        channel: str,
        *,
        user: str,
        text: str,
        blocks: Blocks | None = None,
        thread_ts: str | None = None,
        files: list[str] | None = None,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Post a message; ``broadcast`` (Slack's reply_broadcast) also shows a reply in the channel."""
        with self.changed:
            channel_id = self._channel(channel).id
            if thread_ts:
                try:
                    parent = self.message(channel_id, thread_ts)
                except SlackError:
                    raise SlackError("thread_not_found") from None
                if parent.is_reply:  # replying to a reply lands in the same thread
                    thread_ts = parent.thread_ts
                else:
                    parent.thread_ts = parent.ts
            message = Message(
                ts=self.next_ts(),
                channel=channel_id,
                user=user,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts or None,
                files=list(files or []),
                metadata=metadata,
                broadcast=broadcast and bool(thread_ts),
            )
            self._messages[channel_id].append(message)
            self.changed.notify_all()
            return message

    def update_message(self, channel: str, ts: str, *, text: str | None, blocks: Blocks | None) -> Message:
        with self.changed:
            message = self.message(channel, ts)
            message.edits.append(MessageVersion(message.text, message.blocks, self.clock.now()))
            if text is not None:
                message.text = text
            if blocks is not None:
                message.blocks = blocks
            self.changed.notify_all()
            return message

    def delete_message(self, channel: str, ts: str) -> None:
        with self.changed:
            self.message(channel, ts).deleted = True
            self.changed.notify_all()

    def add_reaction(self, channel: str, ts: str, name: str, *, user: str) -> None:
        with self.changed:
            message = self.message(channel, ts)
            users = message.reactions.setdefault(name, [])
            if user in users:
                raise SlackError("already_reacted")
            users.append(user)
            self.changed.notify_all()

    def post_ephemeral(
        self, channel: str, *, user: str, text: str, blocks: Blocks | None, thread_ts: str | None, via: str
    ) -> Ephemeral:
        with self.changed:
            ephemeral = Ephemeral(
                channel=self._channel(channel).id,
                user=self.user(user).id,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                ts=self.next_ts(),
                via=via,
            )
            self._ephemerals.append(ephemeral)
            self.changed.notify_all()
            return ephemeral

    def new_response_url(
        self,
        channel: str,
        user: str,
        *,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        is_ephemeral_source: bool = False,
    ) -> ResponseUrl:
        with self.changed:
            url = ResponseUrl(
                id=self._new_id("R"),
                channel=self._channel(channel).id,
                user=user,
                message_ts=message_ts,
                thread_ts=thread_ts,
                is_ephemeral_source=is_ephemeral_source,
            )
            self._response_urls[url.id] = url
            return url

    def response_url(self, url_id: str) -> ResponseUrl | None:
        with self.changed:
            return self._response_urls.get(url_id)

    def record_response(self, post: ResponsePost) -> None:
        with self.changed:
            self._responses.append(post)
            self.changed.notify_all()

    def new_file(self, name: str, length: int) -> UploadedFile:
        with self.changed:
            upload = UploadedFile(id=self._new_id("F"), name=name, length=length)
            self._files[upload.id] = upload
            return upload

    def store_upload(self, file_id: str, content: bytes) -> UploadedFile:
        with self.changed:
            upload = self._files.get(file_id)
            if upload is None:
                raise SlackError("file_not_found")
            upload.content = content
            upload.uploaded = True
            self.changed.notify_all()
            return upload

    def complete_upload(
        self,
        items: list[dict[str, Any]],
        *,
        channels: list[str],
        thread_ts: str | None,
        initial_comment: str | None,
    ) -> list[UploadedFile]:
        """Share uploaded files; in a channel they arrive as one message carrying them all."""
        with self.changed:
            done: list[UploadedFile] = []
            for item in items:
                upload = self._files.get(str(item.get("id")))
                if upload is None or not upload.uploaded:
                    raise SlackError("file_not_found")
                done.append(upload)
            channel_ids = [self._channel(c).id for c in channels]
            for upload, item in zip(done, items, strict=True):
                upload.title = str(item.get("title") or upload.name)
                upload.channels = channel_ids
                upload.thread_ts = thread_ts
                upload.initial_comment = initial_comment
                upload.completed = True
            for channel_id in channel_ids:
                self.post_message(
                    channel_id,
                    user=self.bot_user_id,
                    text=initial_comment or "",
                    thread_ts=thread_ts,
                    files=[u.id for u in done],
                )
            self.changed.notify_all()
            return done

    def notify(self) -> None:
        """Wake waiters after a change recorded elsewhere (e.g. a Socket Mode ack)."""
        with self.changed:
            self.changed.notify_all()

    def channel_objects(self) -> list[Channel]:
        with self.changed:
            return list(self._channels.values())

    def users(self) -> list[User]:
        with self.changed:
            return list(self._users.values())
