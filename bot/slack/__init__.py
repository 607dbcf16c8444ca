"""The Slack side of the bot: the bolt app, its transports and access control."""

from bot.slack.access import AccessPolicy, SlackUsergroups
from bot.slack.app import build_slack_app
from bot.slack.transports import HttpTransport, SocketModeTransport

__all__ = ["AccessPolicy", "HttpTransport", "SlackUsergroups", "SocketModeTransport", "build_slack_app"]
