"""What each command found, as plain data: handlers fill these, renderers read them.

Keeping results apart from rendering lets the same answer become Block Kit
for Slack, aligned text for the console and a file when it is too long.
"""
