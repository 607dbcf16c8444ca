"""The Web API methods the bot uses, answering with the fields Slack answers with.

Each method takes the request's arguments (as received: form strings or JSON
values) and returns the success body, or raises ``SlackError`` /
``ContentError`` with Slack's error code. Authentication, rate limiting and
recording happen around them in ``sim.slack.api``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.slack.records import Message
from sim.slack.validation import check_message, parse_blocks
from sim.slack.workspace import SlackError, SlackWorkspace

Args = dict[str, Any]
# Slack's page sizes: the default when no limit is given, and the most one page holds.
HISTORY_LIMIT, HISTORY_MOST = 100, 999
REPLIES_LIMIT = 1000
LIST_LIMIT, LIST_MOST = 100, 1000


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


def message_json(workspace: SlackWorkspace, message: Message, *, with_metadata: bool = True) -> dict[str, Any]:
    """A message as conversations.replies and chat.postMessage show it.

    Its metadata is shown by chat.postMessage, and by the conversations methods
    only when asked for (``include_all_metadata``).
    """
    body: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text, "team": workspace.team_id}
    body["user"] = message.user
    if message.user == workspace.bot_user_id:
        body.update(bot_id=workspace.bot_id, app_id=workspace.app_id)
    if message.blocks is not None:
        body["blocks"] = message.blocks
    if with_metadata and message.metadata is not None:
        body["metadata"] = message.metadata
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


def _metadata(args: Args) -> dict[str, Any] | None:
    """Message metadata as sent (a JSON string in form posts, an object in JSON posts), checked as Slack does."""
    raw = args.get("metadata")
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_metadata_format") from None
    if not isinstance(raw, dict):
        raise SlackError("invalid_metadata_format")
    event_type, payload = raw.get("event_type"), raw.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _channel_id(ws: SlackWorkspace, args: Args) -> str:
    """A conversation named by its ID, as the conversations methods require (a #name is not found)."""
    ref = required(args, "channel", "channel_not_found")
    channel = ws.channel(ref)
    if channel.id != ref:
        raise SlackError("channel_not_found")
    return channel.id


def _limit(args: Args, default: int, most: int) -> int:
    raw = args.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    return default if value <= 0 else min(value, most)


def _cursor(args: Args) -> int:
    """The offset a next_cursor stands for (0 without one)."""
    raw = optional_str(args, "cursor")
    if raw is None:
        return 0
    try:
        kind, _, offset = base64.b64decode(raw.encode(), validate=True).decode().partition(":")
        if kind != "next" or not offset.isdigit():
            raise ValueError(raw)
    except ValueError:
        raise SlackError("invalid_cursor") from None
    return int(offset)


def _next_cursor(offset: int) -> str:
    return base64.b64encode(f"next:{offset}".encode()).decode()


def _in_window(message: Message, args: Args) -> bool:
    """Whether ``message`` lies between ``oldest`` and ``latest`` (each bound exclusive unless ``inclusive``)."""
    inclusive = flag(args, "inclusive")
    ts = float(message.ts)
    try:
        oldest = float(optional_str(args, "oldest") or "0")
        latest = float(optional_str(args, "latest") or "inf")
    except ValueError:
        raise SlackError("invalid_ts_oldest") from None
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def _page(
    ws: SlackWorkspace, messages: list[Message], args: Args, *, default_limit: int, most: int
) -> dict[str, Any]:
    """One page of ``messages`` (already in the order shown), with Slack's cursor fields."""
    offset, limit = _cursor(args), _limit(args, default_limit, most)
    shown = messages[offset : offset + limit]
    more = offset + limit < len(messages)
    with_metadata = flag(args, "include_all_metadata")
    return {
        "messages": [message_json(ws, m, with_metadata=with_metadata) for m in shown],
        "has_more": more,
        "response_metadata": {"next_cursor": _next_cursor(offset + limit) if more else ""},
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
    metadata = _metadata(args)
    message = ws.post_message(
        channel, user=ws.bot_user_id, text=text, blocks=blocks, thread_ts=optional_str(args, "thread_ts"),
        broadcast=flag(args, "reply_broadcast"), metadata=metadata,
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
    """The thread's parent, then its replies oldest first, a page at a time."""
    ws = ctx.workspace
    channel = _channel_id(ws, args)
    ts = required(args, "ts", "thread_not_found")
    try:
        parent = ws.message(channel, ts)
    except SlackError:
        raise SlackError("thread_not_found") from None
    root = parent.thread_ts if parent.is_reply else parent.ts
    root_message = ws.message(channel, root)
    thread = [root_message, *[m for m in ws.thread(channel, root) if _in_window(m, args)]]
    return _page(ws, thread, args, default_limit=REPLIES_LIMIT, most=REPLIES_LIMIT)


def conversations_history(ctx: CallContext, args: Args) -> dict[str, Any]:
    """The channel's messages (thread replies only when also sent to the channel), newest first, a page at a time."""
    ws = ctx.workspace
    channel = _channel_id(ws, args)
    shown = sorted([*ws.messages(channel), *ws.broadcasts(channel)], key=lambda m: float(m.ts), reverse=True)
    page = _page(ws, [m for m in shown if _in_window(m, args)], args, default_limit=HISTORY_LIMIT, most=HISTORY_MOST)
    return {**page, "pin_count": 0}


def conversations_list(ctx: CallContext, args: Args) -> dict[str, Any]:
    """Channels (and, when asked for, direct messages) the workspace has, a page at a time."""
    ws = ctx.workspace
    types = {t.strip() for t in (optional_str(args, "types") or "public_channel").split(",") if t.strip()}
    unknown = types - {"public_channel", "private_channel", "mpim", "im"}
    if unknown:
        raise SlackError("invalid_types")
    wanted = [c for c in ws.channel_objects() if ("im" if c.is_im else "public_channel") in types]
    offset, limit = _cursor(args), _limit(args, LIST_LIMIT, LIST_MOST)
    shown = wanted[offset : offset + limit]
    more = offset + limit < len(wanted)
    return {
        "channels": [_channel_json(ws, c.id) for c in shown],
        "response_metadata": {"next_cursor": _next_cursor(offset + limit) if more else ""},
    }


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
    "conversations.list": conversations_list,
    "usergroups.users.list": usergroups_users_list,
    "usergroups.list": usergroups_list,
}
APP_METHODS: dict[str, Method] = {"apps.connections.open": apps_connections_open}
