"""SlackChat against the loopback Slack emulator, through the real slack_sdk client."""

from __future__ import annotations

import json

import pytest

from firebreak.ports import Ask, ChannelRef, IntegrationError
from integrations.policy import RetryPolicy
from integrations.sandbox import Sandbox
from integrations.slack import SlackChat
from tests.integrations.conftest import FAST, closed_port


def test_war_room_is_created_people_invited_and_messages_threaded(
    sb: Sandbox, chat: SlackChat
) -> None:
    room = chat.create_channel("crisis-42", private=True)
    chat.invite(room.id, ["U0AAA1", "U0BBB2"])
    first = chat.post(room.id, "Incident #42 opened", blocks=[{"type": "divider"}])
    reply = chat.post(room.id, "Owner: comms", thread_ts=first.ts)

    assert room == ChannelRef(id=room.id, name="crisis-42")
    assert first.channel == room.id and reply.ts != first.ts
    calls = [(r.method, r.path) for r in sb.requests("slack")]
    assert calls == [
        ("POST", "/api/conversations.create"),
        ("POST", "/api/conversations.invite"),
        ("POST", "/api/chat.postMessage"),
        ("POST", "/api/chat.postMessage"),
    ]
    create, invite, post, threaded = sb.requests("slack")
    assert create.body == {"name": "crisis-42", "is_private": "1"}
    assert invite.body == {"channel": room.id, "users": "U0AAA1,U0BBB2"}
    assert post.body["blocks"] == [{"type": "divider"}]
    assert threaded.body["thread_ts"] == first.ts
    assert all(r.headers["authorization"] == f"Bearer {sb.slack_token}" for r in sb.requests())
    state = sb.state("slack")
    members = next(c["members"] for c in state["channels"] if c["id"] == room.id)
    assert {"U0AAA1", "U0BBB2"} <= set(members)
    assert [m["text"] for m in state["messages"]] == ["Incident #42 opened", "Owner: comms"]


def test_inviting_people_already_present_is_not_an_error(sb: Sandbox, chat: SlackChat) -> None:
    room = chat.create_channel("crisis-43")
    chat.invite(room.id, ["U0AAA1"])
    chat.invite(room.id, ["U0AAA1"])
    assert len(sb.requests("slack")) == 3


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Crisis 42", "invalid_name_specials"),
        ("crisis.42", "invalid_name_specials"),
        ("c" * 81, "invalid_name_maxlength"),
    ],
)
def test_bad_channel_names_are_refused_with_slacks_reason(
    chat: SlackChat, name: str, error: str
) -> None:
    with pytest.raises(IntegrationError) as caught:
        chat.create_channel(name)
    assert caught.value.service == "slack"
    assert caught.value.message == f"Slack refused conversations.create: {error}"
    assert not caught.value.retryable


def test_taken_name_is_refused(chat: SlackChat) -> None:
    chat.create_channel("crisis-44")
    with pytest.raises(IntegrationError, match=r"conversations\.create: name_taken"):
        chat.create_channel("crisis-44")


def test_posting_to_an_unknown_channel_says_so(chat: SlackChat) -> None:
    with pytest.raises(IntegrationError, match=r"chat\.postMessage: channel_not_found"):
        chat.post("C999", "hello")


def test_wrong_token_is_refused_without_revealing_it(sb: Sandbox) -> None:
    wrong = SlackChat("xoxb-wrong-secret", base_url=sb.url("slack") + "/api/", policy=FAST)
    with pytest.raises(IntegrationError) as caught:
        wrong.post("general", "hi")
    assert caught.value.message == "Slack refused chat.postMessage: invalid_auth"
    assert "xoxb-wrong-secret" not in str(caught.value)


def test_rate_limit_is_retried_after_retry_after(sb: Sandbox, chat: SlackChat) -> None:
    sb.fail("slack", "chat.postMessage", status=429, retry_after=0, times=2)
    message = chat.post("general", "still delivered")
    posts = [r for r in sb.requests("slack") if r.path == "/api/chat.postMessage"]
    assert [r.fault for r in posts] == ["429", "429", None]
    assert message.ts and sb.state("slack")["messages"][0]["text"] == "still delivered"


def test_rate_limit_beyond_the_retry_budget_is_a_retryable_error(
    sb: Sandbox, chat: SlackChat
) -> None:
    sb.fail("slack", "chat.postMessage", status=429, retry_after=0, times=None)
    with pytest.raises(IntegrationError) as caught:
        chat.post("general", "never delivered")
    assert caught.value.message == "Slack refused chat.postMessage: ratelimited"
    assert caught.value.retryable
    assert len(sb.requests("slack")) == 1 + FAST.retries
    assert sb.state("slack")["messages"] == []


def test_a_long_retry_after_is_left_to_the_playbook_and_said(sb: Sandbox, chat: SlackChat) -> None:
    sb.fail("slack", "chat.postMessage", status=429, retry_after=10, times=1)
    with pytest.raises(IntegrationError) as caught:
        chat.post("general", "later")
    # Not retried early: the playbook waits the 10 s Slack asked for, on its own clock.
    assert len(sb.requests("slack")) == 1
    assert caught.value.retryable and caught.value.retry_after == 10
    assert sb.state("slack")["messages"] == []


def test_server_error_is_a_retryable_error(sb: Sandbox, chat: SlackChat) -> None:
    sb.fail("slack", "conversations.create", status=503, times=None)
    with pytest.raises(IntegrationError) as caught:
        chat.create_channel("crisis-45")
    assert caught.value.message == "Slack refused conversations.create: fatal_error"
    assert caught.value.retryable
    assert len(sb.requests("slack")) == 1 + FAST.retries


def test_a_passing_outage_is_ridden_out(sb: Sandbox, chat: SlackChat) -> None:
    sb.fail("slack", "conversations.create", status=500, times=1)
    room = chat.create_channel("crisis-46")
    assert [r.fault for r in sb.requests("slack")] == ["500", None]
    assert room.name == "crisis-46"


def test_unreachable_slack_fails_fast_and_clearly() -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/"
    dead = SlackChat("xoxb-x", base_url=url, policy=RetryPolicy(retries=1, max_delay=0.01))
    with pytest.raises(IntegrationError) as caught:
        dead.post("general", "hi")
    assert caught.value.message == f"Slack at {url} is unreachable: connection refused"
    assert caught.value.retryable


def test_text_is_escaped_so_a_title_never_pings_everyone(sb: Sandbox, chat: SlackChat) -> None:
    room = chat.create_channel("crisis-44")
    chat.post(room.id, "<!channel> Fire & smoke at <b>HQ</b>")
    (post,) = [r for r in sb.requests("slack") if r.path == "/api/chat.postMessage"]
    assert post.body["text"] == "&lt;!channel&gt; Fire &amp; smoke at &lt;b&gt;HQ&lt;/b&gt;"


def test_an_ask_carries_one_button_per_decision_and_closing_it_removes_them(
    sb: Sandbox, chat: SlackChat
) -> None:
    room = chat.create_channel("crisis-45")
    asked = chat.ask(room.id, Ask("Approve <this>?", "approval", 7, "approve", 3))
    chat.close_ask(asked.channel, asked.ts, "Approve <this>?", ":x: Rejected by ana")

    post, update = [r for r in sb.requests("slack") if r.path.startswith("/api/chat.")]
    section, actions = post.body["blocks"]
    assert post.body["text"] == "Approve &lt;this&gt;?"
    assert section == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Approve &lt;this&gt;?"},
    }
    assert actions["block_id"] == "firebreak-gate-3"
    assert [(b["action_id"], b["style"]) for b in actions["elements"]] == [
        ("firebreak.gate.approve", "primary"),
        ("firebreak.gate.reject", "danger"),
    ]
    assert {json.loads(b["value"])["gate"] for b in actions["elements"]} == {3}
    assert "confirm" in actions["elements"][1]
    assert update.path == "/api/chat.update" and update.body["ts"] == asked.ts
    assert [b["type"] for b in update.body["blocks"]] == ["section", "context"]
    assert update.body["text"] == "Approve &lt;this&gt;?\n\n:x: Rejected by ana"


def test_a_war_room_is_found_by_name_past_the_first_page_and_only_if_ours(
    sb: Sandbox, chat: SlackChat
) -> None:
    from integrations.sandbox.slack import Channel

    for n in range(250):  # conversations.list pages by 200 here: the room is on page two
        sb.slack.channels[f"CFILL{n:04d}"] = Channel(f"CFILL{n:04d}", f"fill-{n}", False, 0)
    room = chat.create_channel("crisis-9-prod", marker="firebreak-prod-abc")
    sb.slack.channels["CFOREIGN"] = Channel(
        "CFOREIGN", "crisis-8-prod", False, 0, creator="U0HUMAN"
    )

    assert chat.find_channel("crisis-9-prod", marker="firebreak-prod-abc") == room
    assert chat.find_channel("crisis-9-prod", marker="firebreak-prod-other") is None
    assert chat.find_channel("crisis-8-prod", marker="firebreak-prod-abc") is None  # a person's
    lists = [r for r in sb.requests("slack") if r.path.endswith("conversations.list")]
    assert len(lists) == 6 and lists[1].body.get("cursor")
    # Created again for the same effect (its answer was lost): adopted, not a second room.
    assert chat.create_channel("crisis-9-prod", marker="firebreak-prod-abc") == room
    with pytest.raises(IntegrationError) as caught:
        chat.create_channel("crisis-8-prod", marker="firebreak-prod-abc")
    assert "#crisis-8-prod exists and is not this incident's war room" in caught.value.message


def test_a_message_is_found_by_its_marker_through_the_channels_history(
    sb: Sandbox, chat: SlackChat
) -> None:
    asked = chat.ask("general", Ask("Approve?", "approval", 1, "approve", 7, "firebreak-x-1"))
    for n in range(230):  # newer messages push the ask onto the history's second page
        chat.post("general", f"chatter {n}")

    assert chat.find_message("general", "firebreak-x-1") == asked  # a name: resolved to an id
    assert chat.find_message(asked.channel, "firebreak-x-2") is None
    history = [r for r in sb.requests("slack") if r.path.endswith("conversations.history")]
    assert {r.body["channel"] for r in history} == {asked.channel}  # Slack wants the id
    with pytest.raises(IntegrationError, match="channel_not_found"):
        chat._call(
            "conversations.history", lambda: chat._client.conversations_history(channel="general")
        )
