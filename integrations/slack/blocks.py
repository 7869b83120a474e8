"""Block Kit for Firebreak's messages, built with slack_sdk's block models.

The domain asks for a decision (`firebreak.ports.Ask`); this module turns it into a section and
one button per decision the gate accepts. `interactions.py` reads the buttons back: the
`action_id` says the decision, the `value` says which gate.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from firebreak.ports import Ask

ACTION_PREFIX = "firebreak.gate."
# (decision, label, style) per kind of gate: an acknowledgement cannot approve a statement.
BUTTONS = {
    "approval": [("approve", "Approve", "primary"), ("reject", "Reject", "danger")],
    "ack": [("acknowledge", "Acknowledge", "primary")],
}
SECTION_LIMIT = 3000  # Slack refuses a section text longer than this
TEXT_LIMIT = 40000  # chat.postMessage truncates `text` beyond this; we cut first, visibly


def escape(text: str) -> str:
    """Slack reads <...> as links and mentions (`<!channel>` pings everyone): keep them text.

    Slack's own rule: escape exactly `&`, `<` and `>`, nothing else.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def fallback_text(text: str) -> str:
    """A message's `text` (notifications, screen readers, clients without blocks), escaped."""
    return _cut(escape(text), TEXT_LIMIT)


def mrkdwn(text: str) -> str:
    # Cut after escaping: an entity counts with its full length towards Slack's limit.
    return _cut(escape(text), SECTION_LIMIT)


def button_value(incident_id: int, step_id: str, gate_id: int) -> str:
    """What a button carries back (Slack allows 2,000 characters; step ids are at most 128)."""
    return json.dumps({"incident": incident_id, "step": step_id, "gate": gate_id})


def _button(decision: str, label: str, style: str, value: str) -> ButtonElement:
    confirm = None
    if decision == "reject":
        confirm = ConfirmObject(
            title="Reject this?",
            text=PlainTextObject(text="The step's on_rejected branch runs."),
            confirm="Reject",
            deny="Cancel",
        )
    return ButtonElement(
        text=label, action_id=f"{ACTION_PREFIX}{decision}", value=value, style=style,
        confirm=confirm,
    )  # fmt: skip


def ask_blocks(ask: Ask) -> list[dict[str, Any]]:
    """The ask as Block Kit: the text, then one button per decision the gate accepts."""
    value = button_value(ask.incident_id, ask.step_id, ask.gate_id)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=mrkdwn(ask.text))),
        ActionsBlock(
            block_id=f"firebreak-gate-{ask.gate_id}",
            elements=[_button(*spec, value) for spec in BUTTONS[ask.kind]],
        ),
    ]
    return [block.to_dict() for block in blocks]


def closed_ask_blocks(asked_text: str, outcome: str) -> list[dict[str, Any]]:
    """The ask once decided: its text, then who decided, and no buttons left to click."""
    blocks: list[Block] = []
    if asked_text:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=mrkdwn(asked_text))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=mrkdwn(outcome))]))
    return [block.to_dict() for block in blocks]
