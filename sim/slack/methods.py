"""The Web API methods the bot uses, answering with the fields Slack answers with.

Each method takes the request's arguments (as received: form strings or JSON
values) and returns the success body, or raises ``SlackError`` /
``ContentError`` with Slack's error code. Authentication, rate limiting and
recording happen around them in ``sim.slack.api``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.slack.records import Message
from sim.slack.validation import check_message, parse_blocks
from sim.slack.workspace import SlackError, SlackWorkspace

Args = dict[str, Any]


@dataclass(frozen=True)
class CallContext:
    """What a method needs besides its arguments."""

    workspace: SlackWorkspace
    host: str  # host:port the request came to, for URLs the answer hands out


Method = Callable[[CallContext, Args], dict[str, Any]]


def flag(args: Args, name: str) -> bool:
    """A boolean argument: JSON true or the form values Slack accepts ("true", "1")."""
    value = args.get(name)
    return value is True or (isinstance(value, (str, int)) and str(value).lower() in ("true", "1"))


def required(args: Args, name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if value is None or value == "":
        raise SlackError(error)
    return str(value)


def optional_str(args: Args, name: str) -> str | None:
    value = args.get(name)
    return None if value is None or value == "" else str(value)


def message_json(workspace: SlackWorkspace, message: Message) -> dict[str, Any]:
    """A message as conversations.replies and chat.postMessage show it."""
    body: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text, "team": workspace.team_id}
    body["user"] = message.user
    if message.user == workspace.bot_user_id:
        body.update(bot_id=workspace.bot_id, app_id=workspace.app_id)
    if message.blocks is not None:
        body["blocks"] = message.blocks
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
        if message.broadcast:  # Slack marks a reply also sent to the channel, and shows it in the channel's history
            body["subtype"] = "thread_broadcast"
            body["root"] = message_json(workspace, workspace.message(message.channel, message.thread_ts))
        if not message.is_reply:
            replies = workspace.thread(message.channel, message.ts)
            body["reply_count"] = len(replies)
            body["reply_users"] = sorted({r.user for r in replies})
            if replies:
                body["latest_reply"] = replies[-1].ts
    if message.edits:
        body["edited"] = {"user": message.user, "ts": f"{message.edits[-1].replaced_at.timestamp():.6f}"}
    if message.reactions:
        body["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in message.reactions.items()]
    if message.files:
        known = {f.id: f for f in workspace.files}
        body["files"] = [_file_json(known[i]) for i in message.files if i in known]
    return body


def _file_json(upload: Any) -> dict[str, Any]:
    return {
        "id": upload.id,
        "name": upload.name,
        "title": upload.title,
        "size": len(upload.content),
        "mimetype": "text/plain",
        "filetype": "text",
        "channels": upload.channels,
    }


def _content(args: Args) -> tuple[str, list[dict[str, Any]] | None]:
    blocks = parse_blocks(args.get("blocks"))
    text = args.get("text")
    text = "" if text is None else str(text)
    check_message(text, blocks, attachments=args.get("attachments"))
    return text, blocks


# -- methods -----------------------------------------------------------------


def auth_test(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = required(args, "channel", "channel_not_found")
    text, blocks = _content(args)
    message = ws.post_message(
        channel, user=ws.bot_user_id, text=text, blocks=blocks, thread_ts=optional_str(args, "thread_ts"),
        broadcast=flag(args, "reply_broadcast"),
    )
    return {"channel": message.channel, "ts": message.ts, "message": message_json(ws, message)}


def chat_post_ephemeral(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = required(args, "channel", "channel_not_found")
    user = required(args, "user", "user_not_found")
    text, blocks = _content(args)
    ephemeral = ws.post_ephemeral(
        channel, user=user, text=text, blocks=blocks, thread_ts=optional_str(args, "thread_ts"), via="chat.postEphemeral"
    )
    return {"message_ts": ephemeral.ts}


def chat_update(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = ws.channel(required(args, "channel", "channel_not_found")).id
    ts = required(args, "ts", "message_not_found")
    original = ws.message(channel, ts)
    if original.user != ws.bot_user_id:
        raise SlackError("cant_update_message")
    text, blocks = _content(args)
    message = ws.update_message(channel, ts, text=text, blocks=blocks)
    return {"channel": channel, "ts": ts, "text": message.text, "message": message_json(ws, message)}


def chat_delete(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = ws.channel(required(args, "channel", "channel_not_found")).id
    ts = required(args, "ts", "message_not_found")
    if ws.message(channel, ts).user != ws.bot_user_id:
        raise SlackError("cant_delete_message")
    ws.delete_message(channel, ts)
    return {"channel": channel, "ts": ts}


def chat_get_permalink(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = ws.channel(required(args, "channel", "channel_not_found")).id
    message = ws.message(channel, required(args, "message_ts", "message_not_found"))
    link = f"https://{ws.team_domain}.slack.com/archives/{channel}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}


def reactions_add(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = ws.channel(required(args, "channel", "channel_not_found")).id
    ts = required(args, "timestamp", "message_not_found")
    name = required(args, "name", "invalid_name").strip(":")
    ws.add_reaction(channel, ts, name, user=ws.bot_user_id)
    return {}


def files_get_upload_url_external(ctx: CallContext, args: Args) -> dict[str, Any]:
    name = required(args, "filename")
    try:
        length = int(required(args, "length"))
    except ValueError:
        raise SlackError("invalid_arguments") from None
    upload = ctx.workspace.new_file(name, length)
    return {"upload_url": f"http://{ctx.host}/upload/{upload.id}", "file_id": upload.id}


def files_complete_upload_external(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    raw = args.get("files")
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise SlackError("invalid_arguments") from None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise SlackError("invalid_arguments")
    channels: list[str] = []
    if optional_str(args, "channel_id"):
        channels.append(str(args["channel_id"]))
    if optional_str(args, "channels"):
        channels.extend(c for c in str(args["channels"]).split(",") if c)
    done = ws.complete_upload(
        items,
        channels=channels,
        thread_ts=optional_str(args, "thread_ts"),
        initial_comment=optional_str(args, "initial_comment"),
    )
    return {"files": [_file_json(f) for f in done]}


def users_info(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    user = ws.user(required(args, "user", "user_not_found"))
    return {
        "user": {
            "id": user.id,
            "team_id": ws.team_id,
            "name": user.name,
            "real_name": user.name.title(),
            "deleted": False,
            "is_bot": user.is_bot,
            "is_admin": False,
            "tz": "UTC",
            "profile": {"display_name": user.name, "real_name": user.name.title()},
        }
    }


def _channel_json(ws: SlackWorkspace, ref: str) -> dict[str, Any]:
    channel = ws.channel(ref)
    body: dict[str, Any] = {
        "id": channel.id,
        "is_channel": not channel.is_im,
        "is_im": channel.is_im,
        "is_private": channel.is_im,
        "is_archived": False,
        "is_member": True,
        "context_team_id": ws.team_id,
    }
    if channel.is_im:
        body["user"] = channel.im_user
    else:
        body["name"] = channel.name
    return body


def conversations_info(ctx: CallContext, args: Args) -> dict[str, Any]:
    return {"channel": _channel_json(ctx.workspace, required(args, "channel", "channel_not_found"))}


def conversations_open(ctx: CallContext, args: Args) -> dict[str, Any]:
    if optional_str(args, "channel"):
        return {"channel": _channel_json(ctx.workspace, str(args["channel"]))}
    users = [u for u in required(args, "users", "users_list_not_supplied").split(",") if u]
    if len(users) != 1:
        raise SlackError("not_supported")  # group DMs are not simulated
    channel = ctx.workspace.open_im(users[0])
    return {"channel": {"id": channel.id}}


def conversations_replies(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = ws.channel(required(args, "channel", "channel_not_found")).id
    ts = required(args, "ts", "thread_not_found")
    try:
        parent = ws.message(channel, ts)
    except SlackError:
        raise SlackError("thread_not_found") from None
    root = parent.thread_ts if parent.is_reply else parent.ts
    root_message = ws.message(channel, root)
    thread = [root_message, *ws.thread(channel, root)]
    return {"messages": [message_json(ws, m) for m in thread], "has_more": False}


def conversations_history(ctx: CallContext, args: Args) -> dict[str, Any]:
    ws = ctx.workspace
    channel = ws.channel(required(args, "channel", "channel_not_found")).id
    shown = sorted([*ws.messages(channel), *ws.broadcasts(channel)], key=lambda m: float(m.ts))
    return {"messages": [message_json(ws, m) for m in reversed(shown)], "has_more": False}


def usergroups_users_list(ctx: CallContext, args: Args) -> dict[str, Any]:
    group = required(args, "usergroup", "no_such_subteam")
    return {"users": ctx.workspace.usergroup_members(group)}


def usergroups_list(ctx: CallContext, args: Args) -> dict[str, Any]:
    groups = [
        {"id": group_id, "team_id": ctx.workspace.team_id, "handle": handle, "name": handle, "is_usergroup": True}
        for group_id, handle in ctx.workspace.usergroups()
    ]
    return {"usergroups": groups}


def apps_connections_open(ctx: CallContext, args: Args) -> dict[str, Any]:
    return {"url": ctx.workspace.socket.issue_url(ctx.host)}


BOT_METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "reactions.add": reactions_add,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "users.info": users_info,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "conversations.replies": conversations_replies,
    "conversations.history": conversations_history,
    "usergroups.users.list": usergroups_users_list,
    "usergroups.list": usergroups_list,
}
APP_METHODS: dict[str, Method] = {"apps.connections.open": apps_connections_open}
