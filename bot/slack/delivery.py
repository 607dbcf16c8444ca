"""How answers reach Slack after the ack: a pool of their own, then a response_url, a thread or a file.

Slack drops a request that is not acknowledged within 3 seconds. Bolt's lazy
listeners share one small executor with the acknowledgements, so a burst of
slow answers (``nodes`` on a cluster of thousands) made new requests wait
behind them until Slack gave up. Answers run in ``AnswerPool`` instead, a few
at a time; the rest wait in a bounded backlog (a response_url stays usable
for 30 minutes), and past that the request is refused at once with a
sentence rather than queued without end.

Answering happens on a worker thread, where an exception has nobody to go
to: every Slack failure in ``Answerer`` is logged and counted, never raised.
An answer in a thread is posted at most once (``bot.posts.post_once``): one
whose outcome is unknown is looked for in the thread before it is sent again.
An ephemeral answer or a file cannot be looked for, so one whose outcome is
unknown is not sent again.
A summarized answer's full table goes where only its audience can see it: the
channel for a public answer, a direct message for an ephemeral one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks import Attachment, Reply, escape
from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.posts import PostFinder, post_once

log = logging.getLogger(__name__)


BUSY_TEXT = "The bot is busy answering other requests; try again in a minute."


class AnswerPool:
    def __init__(self, workers: int, backlog: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self._capacity = workers + backlog
        self._taken = 0
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        """Whether ``submit`` would take work now (for an ack that says "busy" instead)."""
        with self._lock:
            return self._taken < self._capacity

    def submit(self, work: Callable[[], None]) -> bool:
        """Start ``work`` soon; False (and nothing started) when the backlog is full or the pool stopped."""
        with self._lock:
            if self._taken >= self._capacity:
                log.warning("answer backlog full; refusing a request")
                return False
            self._taken += 1

        def run() -> None:
            try:
                work()
            except Exception:  # an escaped exception would only vanish into the thread
                log.exception("answering a Slack request failed")
            finally:
                self._release()

        try:
            self._executor.submit(run)
        except RuntimeError:  # shut down: the bot is stopping
            self._release()
            return False
        return True

    def _release(self) -> None:
        with self._lock:
            self._taken -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def context_note(text: str) -> dict[str, Any]:
    """A one-line note under an answer (where its file went)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


@dataclass
class Answerer:
    """Sends replies with one client and reports Slack's refusals to the metrics."""

    client: WebClient
    metrics: Metrics = default_metrics
    finder: PostFinder | None = None

    def __post_init__(self) -> None:
        if self.finder is None:
            self.finder = PostFinder(self.client)

    # -- the three ways an answer goes out ----------------------------------------

    def via_response_url(
        self, respond: Respond, reply: Reply, *, user_id: str, channel_id: str, thread_ts: str | None = None
    ) -> None:
        """Slash commands and buttons: answer through the response_url Slack handed us."""
        blocks = reply.blocks_as_dicts()
        if reply.attachment is not None:
            target = channel_id if reply.public else None
            where = self.upload(reply.attachment, user_id=user_id, channel_id=target, thread_ts=thread_ts)
            blocks.append(context_note(where))
        try:
            answer = respond(
                text=reply.text,
                blocks=blocks or None,
                response_type="in_channel" if reply.public else "ephemeral",
                replace_original=False,
                thread_ts=thread_ts,
            )
        except Exception:
            log.exception("could not post the answer to the response_url")
            self.metrics.slack_api_error("response_url", "exception")
            return
        if answer.status_code != 200:
            log.warning("the response_url refused the answer: %s %s", answer.status_code, answer.body)
            self.metrics.slack_api_error("response_url", str(answer.status_code))

    def in_thread(self, reply: Reply, *, channel_id: str, thread_ts: str, user_id: str, private: bool) -> None:
        """Mentions: answer in the thread, privately (ephemeral) when the command is sensitive."""
        blocks = reply.blocks_as_dicts()
        if reply.attachment is not None:
            target = None if private else channel_id
            where = self.upload(reply.attachment, user_id=user_id, channel_id=target, thread_ts=thread_ts)
            blocks.append(context_note(where))
        try:
            if private:
                self.client.chat_postEphemeral(
                    channel=channel_id, user=user_id, text=reply.text, blocks=blocks or None, thread_ts=thread_ts
                )
            else:
                assert self.finder is not None
                post_once(
                    self.client, self.finder, channel=channel_id, thread_ts=thread_ts, text=reply.text,
                    blocks=blocks or None,
                )
        except (SlackClientError, OSError, LookupError) as exc:
            self._failed("chat.postEphemeral" if private else "chat.postMessage", exc)

    # -- files -------------------------------------------------------------------------

    def upload(self, attachment: Attachment, *, user_id: str, channel_id: str | None, thread_ts: str | None) -> str:
        """Upload the full table and return the sentence that says where it went.

        ``channel_id`` None means the answer is for ``user_id`` only: the file goes
        to a direct message with them instead of the channel.
        """
        name = escape(attachment.filename)
        try:
            if channel_id is None:
                channel_id = self.client.conversations_open(users=user_id)["channel"]["id"]
                thread_ts = None
                where = f":page_facing_up: The full table (`{name}`) is in your direct messages with the bot."
            else:
                where = f":page_facing_up: The full table (`{name}`) is attached below."
            self.client.files_upload_v2(
                channel=channel_id,
                thread_ts=thread_ts,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title,
            )
        except (SlackClientError, OSError) as exc:
            self._failed("files.upload", exc)
            return ":warning: The full table could not be attached; try again in a moment."
        return where

    def _failed(self, method: str, exc: Exception) -> None:
        """Slack's refusal (or an unreachable Slack, after the retries) is logged and counted."""
        if isinstance(exc, SlackApiError) and exc.response is not None:
            error = str(exc.response.get("error", "unknown"))
        else:
            error = type(exc).__name__
        log.warning("Slack refused %s: %s", method, error)
        self.metrics.slack_api_error(method, error)
