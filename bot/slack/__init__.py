"""The Slack side of the bot: the bolt app and its listeners, delivery, the Web API client, transports."""
