"""The outbox payload format of ``bot.messages``: every field survives the round trip, and rows
queued before a field existed still load."""

from __future__ import annotations

import json

from bot.messages import Action, Fact, InputKind, Message, Style, Target, from_json, to_json


def test_every_field_survives_the_outbox_round_trip() -> None:
    message = Message(
        title="Blocker #3 · #SEPSIS needs you (high)",
        sections=("Lab IT access blocked",),
        facts=(Fact(label="Raised by", value="Ana Silva"),),
        actions=(
            Action(id="blocker.ack", label="Acknowledge", value="3", style=Style.PRIMARY),
            Action(id="blocker.snooze", label="Snooze", value="3", choices=(("1h", "In 1 hour"),)),
            Action(id="ask.decline", label="Decline", value="3", input=InputKind.RATIONALE),
        ),
        footer="footer",
        target=Target(person_id=4),
        key="blocker:3:rung:0:1",
        thread_key="blocker:2",
        anchors_thread="blocker:3",
        replaces_key="blocker:3:rung:0:0",
        links_thread="blocker:3",
        link="http://leaderbot.example/dashboard#blocker-3",
    )
    assert from_json(to_json(message)) == message


def test_a_payload_queued_before_links_thread_existed_still_loads() -> None:
    raw = json.loads(to_json(Message(sections=("hi",), key="k")))
    del raw["links_thread"]
    assert from_json(json.dumps(raw)).links_thread is None
