"""A Slack Web API emulator: `POST /api/<method>`, Bearer auth, `{"ok": false, "error"}` errors.

Also the `response_url` of interactions: `POST /actions/<anything>` takes a JSON message and
keeps it in `state()["responses"]`, as Slack would show it to the person who clicked.
Only the methods Firebreak calls. Errors follow Slack: HTTP 200 with `ok: false`, except rate
limits (HTTP 429 with `Retry-After`).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.base import Reply, Request, json_reply

TEAM_ID = "T0SANDBOX"
BOT_USER_ID = "U0FIREBRK"
_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool
    created: int
    topic: str = ""
    purpose: str = ""
    creator: str = BOT_USER_ID
    is_archived: bool = False
    members: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "created": self.created,
            "creator": self.creator,
            "topic": {"value": self.topic, "creator": BOT_USER_ID, "last_set": 0},
            "purpose": {"value": self.purpose, "creator": BOT_USER_ID, "last_set": 0},
            "num_members": len(self.members),
        }


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        self.error = error


class SlackEmulator:
    service = "slack"

    def __init__(self, token: str, channels: tuple[str, ...] = ("general",)) -> None:
        self.token = token
        self._seed = channels
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "conversations.create": self._create,
            "conversations.invite": self._invite,
            "conversations.join": self._join,
            "conversations.setTopic": self._set_topic,
            "conversations.setPurpose": self._set_purpose,
            "conversations.list": self._list,
            "conversations.history": self._history,
            "conversations.info": self._info,
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "users.lookupByEmail": self._lookup_by_email,
        }
        self.reset()

    # -- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.messages: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        for name in self._seed:
            self._new_channel(name, private=False)

    def state(self) -> dict[str, Any]:
        return {
            "channels": [
                {**c.to_json(), "members": list(c.members)} for c in self.channels.values()
            ],
            "messages": list(self.messages),
            "responses": list(self.responses),
        }

    def _new_channel(self, name: str, *, private: bool) -> Channel:
        channel = Channel(
            id=f"C{next(self._ids):08d}",
            name=name,
            is_private=private,
            created=int(time.time()),
            members=[BOT_USER_ID],
        )
        self.channels[channel.id] = channel
        return channel

    def _channel(self, ref: Any) -> Channel:
        if not isinstance(ref, str) or not ref:
            raise SlackError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise SlackError("channel_not_found")

    # -- HTTP --------------------------------------------------------------------------------
    def fault_reply(self, status: int, retry_after: int | None) -> Reply:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        error = "ratelimited" if status == 429 else "fatal_error"
        return json_reply({"ok": False, "error": error}, status, **headers)

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/actions/"):
            return self._respond(request)
        method = request.path.removeprefix("/api/")
        if not request.path.startswith("/api/") or method not in self._methods:
            return json_reply({"ok": False, "error": "unknown_method"}, 404)
        if request.method != "POST":
            return json_reply({"ok": False, "error": "method_not_supported_for_channel_type"})
        auth = request.headers.get("authorization", "")
        if not auth:
            return json_reply({"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return json_reply({"ok": False, "error": "invalid_auth"})
        args = dict(request.query)
        if isinstance(request.body, dict):
            args.update(request.body)
        elif request.body is not None:
            return json_reply({"ok": False, "error": "invalid_form_data"})
        try:
            return json_reply({"ok": True, **self._methods[method](args)})
        except SlackError as e:
            return json_reply({"ok": False, "error": e.error})

    def _respond(self, request: Request) -> Reply:
        """A response_url: no token (the URL is the credential), a JSON message, plain `ok`."""
        body = request.body
        if request.method != "POST" or not isinstance(body, dict) or not body.get("text"):
            return Reply(400, b"invalid_payload", {"Content-Type": "text/plain"})
        self.responses.append({"path": request.path, **body})
        return Reply(200, b"ok", {"Content-Type": "text/plain"})

    # -- methods -----------------------------------------------------------------------------
    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://firebreak-sandbox.slack.com/",
            "team": "Firebreak Sandbox",
            "user": "firebreak",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0FIREBRK",
        }

    def _create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not _CHANNEL_NAME.match(name):
            raise SlackError("invalid_name_specials")
        if any(c.name == name for c in self.channels.values()):
            raise SlackError("name_taken")
        private = str(args.get("is_private", "false")).lower() in ("true", "1")
        return {"channel": self._new_channel(name, private=private).to_json()}

    def _invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("no_user")
        for user in users:
            if not _USER_ID.match(user):
                raise SlackError("user_not_found")
        new = [u for u in users if u not in channel.members]
        if not new:
            raise SlackError("already_in_channel")
        channel.members.extend(new)
        return {"channel": channel.to_json()}

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if BOT_USER_ID not in channel.members:
            channel.members.append(BOT_USER_ID)
        return {"channel": channel.to_json()}

    def _set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        topic = str(args.get("topic") or "")
        if len(topic) > 250:
            raise SlackError("too_long")
        channel.topic = topic
        return {"channel": channel.to_json()}

    def _set_purpose(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        purpose = str(args.get("purpose") or "")
        if len(purpose) > 250:
            raise SlackError("too_long")
        if channel.is_archived:
            raise SlackError("is_archived")
        channel.purpose = purpose
        return {"channel": channel.to_json()}

    def _list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Paged by an opaque cursor; private channels only where the bot is a member."""
        types = {t for t in str(args.get("types") or "public_channel").split(",") if t}
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackError("invalid_types")
        try:
            limit = int(args.get("limit") or 100)
        except ValueError:
            raise SlackError("invalid_limit") from None
        if not 1 <= limit <= 1000:
            raise SlackError("invalid_limit")
        start = 0
        if args.get("cursor"):
            try:
                start = int(base64.b64decode(str(args["cursor"])).decode().removeprefix("off:"))
            except ValueError:
                raise SlackError("invalid_cursor") from None
        exclude_archived = str(args.get("exclude_archived", "false")).lower() in ("true", "1")
        listed = [
            c
            for c in self.channels.values()
            if ("private_channel" if c.is_private else "public_channel") in types
            and (not c.is_private or BOT_USER_ID in c.members)
            and not (exclude_archived and c.is_archived)
        ]
        page = listed[start : start + limit]
        more = start + limit < len(listed)
        cursor = base64.b64encode(f"off:{start + limit}".encode()).decode() if more else ""
        return {
            "channels": [c.to_json() for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, paged by an opaque cursor; a channel id only (names are not found);
        metadata only when `include_all_metadata` is asked for."""
        ref = args.get("channel")
        if not isinstance(ref, str) or ref not in self.channels:
            raise SlackError("channel_not_found")
        channel = self.channels[ref]
        if BOT_USER_ID not in channel.members:
            raise SlackError("not_in_channel")
        try:
            limit = int(args.get("limit") or 100)
        except ValueError:
            raise SlackError("invalid_limit") from None
        if not 1 <= limit <= 999:
            raise SlackError("invalid_limit")
        start = 0
        if args.get("cursor"):
            try:
                start = int(base64.b64decode(str(args["cursor"])).decode().removeprefix("off:"))
            except ValueError:
                raise SlackError("invalid_cursor") from None
        with_metadata = str(args.get("include_all_metadata", "false")).lower() in ("true", "1")
        listed = [m for m in reversed(self.messages) if m["channel"] == channel.id]
        page = [
            {k: v for k, v in m.items() if k != "channel" and (with_metadata or k != "metadata")}
            for m in listed[start : start + limit]
        ]
        more = start + limit < len(listed)
        cursor = base64.b64encode(f"off:{start + limit}".encode()).decode() if more else ""
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(args.get("channel")).to_json()}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        text, blocks = args.get("text"), _decoded(args.get("blocks"))
        if not text and not blocks:
            raise SlackError("no_text")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks")
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(
            m["ts"] == thread_ts and m["channel"] == channel.id for m in self.messages
        ):
            raise SlackError("thread_not_found")
        message = {
            "type": "message",
            "channel": channel.id,
            "ts": f"{int(time.time())}.{next(self._ts):06d}",
            "text": text or "",
            "user": BOT_USER_ID,
        }
        if blocks:
            message["blocks"] = blocks
        if args.get("metadata") is not None:
            metadata = _decoded(args["metadata"])
            if (
                not isinstance(metadata, dict)
                or not isinstance(metadata.get("event_type"), str)
                or not isinstance(metadata.get("event_payload"), dict)
            ):
                raise SlackError("invalid_metadata_format")
            message["metadata"] = metadata
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.append(message)
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        for message in self.messages:
            if message["channel"] == channel.id and message["ts"] == args.get("ts"):
                if "text" in args:
                    message["text"] = args["text"]
                if "blocks" in args:
                    message["blocks"] = _decoded(args["blocks"])
                return {"channel": channel.id, "ts": message["ts"], "text": message["text"]}
        raise SlackError("message_not_found")

    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "")
        if "@" not in email:
            raise SlackError("users_not_found")
        digest = hashlib.sha1(email.lower().encode()).hexdigest()[:8].upper()
        return {
            "user": {
                "id": f"U{digest}",
                "team_id": TEAM_ID,
                "name": email.split("@")[0],
                "profile": {"email": email},
            }
        }


def _decoded(value: Any) -> Any:
    """Form bodies carry `blocks` as a JSON string; JSON bodies carry the list itself."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError("invalid_blocks") from None
    return value
