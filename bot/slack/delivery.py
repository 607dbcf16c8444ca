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
from collections import Counter, deque
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
    """Runs answers a few at a time, fairly between clusters.

    Each answer runs in a lane, the cluster it asks about: a lane may hold all
    workers but one, so commands about a cluster whose API hangs until its
    timeout can fill most of the pool and still leave a worker for every
    other cluster's answers, which then start ahead of that lane's backlog.
    Lanes take turns when a worker frees up.
    """

    def __init__(self, workers: int, backlog: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self._workers = workers
        self._per_lane = max(1, workers - 1)
        self._capacity = workers + backlog
        self._taken = 0
        self._running = 0
        self._lanes: dict[str, deque[Callable[[], None]]] = {}  # waiting work per lane, in turn order
        self._busy: Counter[str] = Counter()  # running answers per lane
        self._lock = threading.Lock()
        self._stopped = False

    def has_room(self) -> bool:
        """Whether ``submit`` would take work now (for an ack that says "busy" instead)."""
        with self._lock:
            return self._taken < self._capacity and not self._stopped

    def submit(self, work: Callable[[], None], lane: str = "") -> bool:
        """Start ``work`` soon; False (and nothing started) when the backlog is full or the pool stopped."""
        with self._lock:
            if self._stopped:
                return False
            if self._taken >= self._capacity:
                log.warning("answer backlog full; refusing a request")
                return False
            self._taken += 1
            self._lanes.setdefault(lane, deque()).append(work)
            self._start_what_may_run()
        return True

    def _start_what_may_run(self) -> None:
        """Hand waiting work to free workers, a lane at a time (called with the lock held)."""
        while self._running < self._workers:
            lane = next((name for name, queue in self._lanes.items() if queue and self._busy[name] < self._per_lane), None)
            if lane is None:
                return
            work = self._lanes[lane].popleft()
            self._lanes[lane] = self._lanes.pop(lane)  # to the back of the turn order
            self._busy[lane] += 1
            self._running += 1
            try:
                self._executor.submit(self._run, work, lane)
            except RuntimeError:  # shut down: the bot is stopping
                self._busy[lane] -= 1
                self._running -= 1
                self._taken -= 1

    def _run(self, work: Callable[[], None], lane: str) -> None:
        try:
            work()
        except Exception:  # an escaped exception would only vanish into the thread
            log.exception("answering a Slack request failed")
        finally:
            with self._lock:
                self._taken -= 1
                self._running -= 1
                self._busy[lane] -= 1
                if not self._stopped:
                    self._start_what_may_run()

    def shutdown(self) -> None:
        with self._lock:
            self._stopped = True
            self._lanes.clear()
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
