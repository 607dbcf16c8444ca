"""The simulated Slack: Web API, response_urls, Socket Mode, and a sender playing the users.

Start it with ``SimServer`` (it serves ``build_app`` from ``sim.slack.api``),
point the bot's ``WebClient`` at ``endpoints.slack``, drive it with
``SlackSender`` and read what the bot said from ``world.slack``.
"""

from sim.slack.records import ApiCall, EnvelopeRecord, Ephemeral, Message, ResponsePost, UploadedFile
from sim.slack.sender import Delivery, SlackSender
from sim.slack.workspace import SlackError, SlackWorkspace

__all__ = [
    "ApiCall",
    "Delivery",
    "Ephemeral",
    "EnvelopeRecord",
    "Message",
    "ResponsePost",
    "SlackError",
    "SlackSender",
    "SlackWorkspace",
    "UploadedFile",
]
