"""slack.create_channel, slack.post, slack.invite."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from firebreak.actions.base import ActionContext, integration_call
from firebreak.settings import get_settings


def _channel_name(raw: str) -> str:
    # Slack channel names: lowercase, no spaces or dots, at most 80 characters.
    name = re.sub(r"[^a-z0-9_-]+", "-", raw.lower().lstrip("#")).strip("-")
    return name[:80] or "crisis"


def war_room_name(raw: str) -> str:
    """`<prefix><name>-<installation id>`: the playbook's name, unique to this installation, so
    it never meets an archived channel of that name or another environment's war room."""
    settings = get_settings()
    suffix = f"-{settings.effective_installation_id}"
    base = _channel_name(f"{settings.war_room_prefix}{raw}")
    return base[: 80 - len(suffix)] + suffix


def create_channel(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    chat = ctx.runtime.integrations.chat
    name = war_room_name(str(args["name"]))
    invite = list(args.get("invite") or [])
    marker = ctx.marker("create_channel")

    def create() -> dict[str, Any]:
        ref = chat.create_channel(name, marker=marker)
        return {"channel": ref.id, "channel_name": ref.name}

    def find() -> dict[str, Any] | None:
        ref = chat.find_channel(name, marker=marker)
        return {"channel": ref.id, "channel_name": ref.name} if ref else None

    created = ctx.effect("create_channel", create, find)
    users = integration_call(lambda: ctx.users_of(invite))
    if users:
        ctx.effect("invite", lambda: {"invited": _invite(ctx, created["channel"], users)})
    if args.get("topic"):
        topic = str(args["topic"])
        ctx.post_once("topic", created["channel"], f"Topic: {topic}")
    who = f" and invited {', '.join(invite)} ({len(users)} people)" if invite else ""
    ctx.record("slack.channel", f"Opened war room #{created['channel_name']}{who}", created)
    return created


def _invite(ctx: ActionContext, channel: str, users: list[str]) -> list[str]:
    ctx.runtime.integrations.chat.invite(channel, users)
    return users


def post(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = integration_call(lambda: ctx.channel_for(str(args["channel"])))
    text = ctx.text_or_template(args, "slack.post")
    blocks = args.get("blocks") or None

    sent = ctx.post_once("post", channel, text, blocks=blocks)
    what = f"the {args['template']} message" if args.get("template") else "a message"
    ctx.record(
        "slack.posted",
        f"Posted {what} to {args['channel']}",
        {**sent, "preview": text[:200]},
    )
    return sent


def invite(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = integration_call(lambda: ctx.channel_for(str(args["channel"])))
    audience = list(args.get("audience") or [])
    users = integration_call(lambda: ctx.users_of(audience))
    done = ctx.effect("invite", lambda: {"invited": _invite(ctx, channel, users)})
    ctx.record(
        "slack.invited",
        f"Invited {', '.join(audience)} ({len(users)} people) to {args['channel']}",
        done,
    )
    return done
