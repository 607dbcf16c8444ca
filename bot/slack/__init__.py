"""The Slack side of the bot: the bolt app, its transports and access control."""

from bot.slack.access import AccessPolicy, SlackUsergroups
from bot.slack.app import build_slack_app
from bot.slack.transports import HttpTransport, SlackTransport, SocketModeTransport, transport_for

__all__ = [
    "AccessPolicy",
    "HttpTransport",
    "SlackTransport",
    "SlackUsergroups",
    "SocketModeTransport",
    "build_slack_app",
    "transport_for",
]
