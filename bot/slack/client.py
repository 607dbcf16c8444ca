"""The Slack Web API client the bot uses: pointed at the configured API and retrying what is safe to retry.

Slack answers 429 with Retry-After under load and has the odd 5xx or reset
connection; an answer must still arrive. slack_sdk's own retry handlers do the
waiting, with two changes: each retry is counted for the metrics (by method),
and a call whose repetition would show (chat.postMessage, chat.postEphemeral,
a file share: ``bot.posts.NOT_IDEMPOTENT``) is never sent again after a 5xx or
a connection that failed once the request was out, since Slack may have
carried it out already. Those failures reach the caller, which knows how to
look for the post before trying again (``bot.posts``). A 429 is always
retried: Slack did not carry the call out.
"""

from __future__ import annotations

from typing import Any, ClassVar

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.posts import NOT_IDEMPOTENT, method_of, never_sent
from bot.settings import SlackConfig

RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2


class _Counted(RetryHandler):
    """Mixin: report each retry (and its method) to the metrics before the handler (next in the MRO) waits,
    and never repeat a call that would show twice if Slack may have carried it out already."""

    default_retries: ClassVar[int]

    def __init__(self, metrics: Metrics, max_retry_count: int | None = None) -> None:
        super().__init__(max_retry_count=self.default_retries if max_retry_count is None else max_retry_count)
        self.metrics = metrics

    def _may_have_been_carried_out(self, error: Exception | None) -> bool:
        return False

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request.url) in NOT_IDEMPOTENT and self._may_have_been_carried_out(error):
            return False
        return bool(super()._can_retry(state=state, request=request, response=response, error=error))

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self.metrics.slack_retried(method_of(request.url))
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)


class CountedRateLimitRetry(_Counted, RateLimitErrorRetryHandler):
    """429: always retried, the bot's posts too, since Slack did not carry the call out."""

    default_retries = RATE_LIMIT_RETRIES


class CountedServerErrorRetry(_Counted, ServerErrorRetryHandler):
    """5xx: retried, except for calls that may have been carried out before the error."""

    default_retries = SERVER_ERROR_RETRIES

    def _may_have_been_carried_out(self, error: Exception | None) -> bool:
        return True


class CountedConnectionRetry(_Counted, ConnectionErrorRetryHandler):
    """Connection errors: retried, except a post whose request may have reached Slack."""

    default_retries = CONNECTION_RETRIES

    def _may_have_been_carried_out(self, error: Exception | None) -> bool:
        return not never_sent(error)


def retry_handlers(metrics: Metrics | None = None, *, max_retries: int | None = None) -> list[RetryHandler]:
    """Retries for 429 (honouring Retry-After), 5xx and dropped connections; ``max_retries`` overrides all three."""
    counted = metrics or default_metrics
    kinds: tuple[type[_Counted], ...] = (CountedRateLimitRetry, CountedServerErrorRetry, CountedConnectionRetry)
    return [kind(counted, max_retries) for kind in kinds]


def build_web_client(
    config: SlackConfig,
    *,
    metrics: Metrics | None = None,
    max_retries: int | None = None,
    token: str | None = None,
    timeout: float | None = None,
) -> WebClient:
    """The one way the bot builds a WebClient: configured base URL and timeout, retry handlers.

    The bot token unless ``token`` is given (Socket Mode opens its connection with the app token);
    ``max_retries`` 0 means no retries at all, for callers that pace their own attempts.
    """
    if token is None:
        token = config.bot_token.get_secret_value() if config.bot_token else None
    handlers = [] if max_retries == 0 else retry_handlers(metrics, max_retries=max_retries)
    kwargs: dict[str, Any] = {
        "token": token,
        "timeout": timeout if timeout is not None else config.timeout_seconds,
        "retry_handlers": handlers,
    }
    if config.api_url:
        kwargs["base_url"] = config.api_url if config.api_url.endswith("/") else config.api_url + "/"
    return WebClient(**kwargs)
