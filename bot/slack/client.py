"""The Slack Web API client the bot uses: pointed at the configured API and retrying.

Slack answers 429 with Retry-After under load and has the odd 5xx or reset
connection; an answer must still arrive. slack_sdk's own retry handlers do the
waiting; the subclasses here only count each retry for the metrics.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.settings import SlackConfig

RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
REQUEST_TIMEOUT_SECONDS = 30


class _Counted(RetryHandler):
    """Mixin: report each retry to the metrics before the handler (next in the MRO) waits."""

    metrics: Metrics

    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        self.metrics.slack_retried()
        super().prepare_for_next_attempt(**kwargs)


class CountedRateLimitRetry(_Counted, RateLimitErrorRetryHandler):
    def __init__(self, metrics: Metrics, max_retry_count: int = RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics


class CountedServerErrorRetry(_Counted, ServerErrorRetryHandler):
    def __init__(self, metrics: Metrics, max_retry_count: int = SERVER_ERROR_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics


class CountedConnectionRetry(_Counted, ConnectionErrorRetryHandler):
    def __init__(self, metrics: Metrics, max_retry_count: int = CONNECTION_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics


def retry_handlers(metrics: Metrics | None = None, *, max_retries: int | None = None) -> list[RetryHandler]:
    """Retries for 429 (honouring Retry-After), 5xx and dropped connections; ``max_retries`` overrides all three."""
    counted = metrics or default_metrics
    if max_retries is None:
        return [CountedRateLimitRetry(counted), CountedServerErrorRetry(counted), CountedConnectionRetry(counted)]
    return [
        CountedRateLimitRetry(counted, max_retries),
        CountedServerErrorRetry(counted, max_retries),
        CountedConnectionRetry(counted, max_retries),
    ]


def build_web_client(
    config: SlackConfig, *, metrics: Metrics | None = None, max_retries: int | None = None
) -> WebClient:
    """The one way the bot builds its WebClient: bot token, configured base URL, retry handlers."""
    token = config.bot_token.get_secret_value() if config.bot_token else None
    kwargs: dict[str, Any] = {
        "token": token,
        "timeout": REQUEST_TIMEOUT_SECONDS,
        "retry_handlers": retry_handlers(metrics, max_retries=max_retries),
    }
    if config.api_url:
        kwargs["base_url"] = config.api_url if config.api_url.endswith("/") else config.api_url + "/"
    return WebClient(**kwargs)
