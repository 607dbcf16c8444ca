"""Escaping for Slack's mrkdwn, so user text and API data never become markup."""

from __future__ import annotations


def escape(text: str) -> str:
    """Slack's three control characters; everything else is literal in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """Inline code; backticks inside would end it early, so they are swapped for quotes."""
    return "`" + escape(text.replace("`", "'")) + "`"


def code_block(text: str) -> str:
    return "```\n" + escape(text.replace("```", "'''")) + "\n```"


def link(url: str, label: str) -> str:
    """A link whose label cannot break out of the angle brackets."""
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe_url}|{escape(label).replace('|', '¦')}>"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
