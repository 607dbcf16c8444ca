"""Replies for failures and for help: one sentence, the usage line, nothing internal."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.commands.registry import CommandSpec, Registry
from bot.commands.reply import Reply
from bot.errors import ChatOpsError
from bot.render.mrkdwn import escape, truncate

_ICONS = {
    "bad_input": ":warning:",
    "not_found": ":mag:",
    "forbidden": ":no_entry:",
    "unreachable": ":electric_plug:",
    "not_configured": ":gear:",
}


def error_reply(error: ChatOpsError, usage: str | None, slash: str) -> Reply:
    sentence = truncate(str(error), 2900)
    icon = _ICONS.get(error.kind, ":x:")
    blocks = [SectionBlock(text=MarkdownTextObject(text=f"{icon} {_mrkdwn_message(sentence)}"))]
    plain = sentence
    if usage:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Usage: `{escape(slash)} {escape(usage)}`")]))
        plain += f"\nUsage: {slash} {usage}"
    return Reply(text=escape(sentence), blocks=blocks, plain=plain, ok=False, outcome=error.kind)


def _mrkdwn_message(sentence: str) -> str:
    """Messages use backticks for names (already stripped of backticks); escape the rest."""
    return escape(sentence)


def internal_error_reply(reference: str) -> Reply:
    sentence = f"Something went wrong on the bot's side (reference `{reference}`); the details are in its log."
    return Reply(
        text=sentence,
        blocks=[SectionBlock(text=MarkdownTextObject(text=f":x: {sentence}"))],
        plain=sentence.replace("`", ""),
        ok=False,
        outcome="error",
    )


def help_reply(registry: Registry, spec: CommandSpec | None, slash: str) -> Reply:
    if spec is not None:
        lines = [f"*{escape(slash)} {escape(spec.name)}*: {escape(spec.summary)}", f"`{escape(slash)} {escape(spec.usage)}`"]
        plain = [f"{slash} {spec.name}: {spec.summary}", f"usage: {slash} {spec.usage}"]
        for flag in spec.flags:
            name = f"{flag.short}, {flag.long}" if flag.short else flag.long
            lines.append(f"• `{escape(name)}` {escape(flag.help)}")
            plain.append(f"  {name}  {flag.help}")
        for example in spec.examples:
            lines.append(f"e.g. `{escape(slash)} {escape(example)}`")
            plain.append(f"  e.g. {slash} {example}")
        if spec.sensitive:
            lines.append("_Sensitive: only people granted it by the bot's access rules may run it._")
            plain.append("  (sensitive: needs an access rule)")
        text = "\n".join(lines)
        return Reply(text=f"Help for {spec.name}", blocks=[SectionBlock(text=MarkdownTextObject(text=text))], plain="\n".join(plain))
    lines = [f"*{escape(slash)}* commands (add `--help` to any for its options):"]
    plain = [f"{slash} commands (add --help to any for its options):"]
    for item in registry.specs():
        lines.append(f"• `{escape(item.name)}` {escape(item.summary)}{' :lock:' if item.sensitive else ''}")
        plain.append(f"  {item.name:<16} {item.summary}{' (sensitive)' if item.sensitive else ''}")
    lines.append("Common options: `--cluster NAME`, `--public` (answer in the channel).")
    plain.append("Common options: --cluster NAME, --public (answer in the channel).")
    text = "\n".join(lines)
    return Reply(text="k8s-chatops help", blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, 2990)))], plain="\n".join(plain))
