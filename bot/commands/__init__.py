"""Commands: their vocabulary and parsing (``registry``), who may run them (``access``), and the door.

Slack (slash commands, mentions, buttons) and the local console (``ask``) are
adapters around the one ``Door``; nothing here knows how a request arrived.
"""
