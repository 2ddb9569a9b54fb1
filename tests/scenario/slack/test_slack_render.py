"""Block Kit rendering: escaping, limits (slack_sdk validates every block), truncation, buttons."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block

from adapters.slack.home import home_view
from adapters.slack.render import (
    action_id,
    escape,
    fallback,
    fit,
    parse_action_id,
    render,
    render_many,
    reply_body,
    with_thread_link,
)
from bot.messages import Action, Fact, InputKind, Message, Style

LINK = "https://leaderbot.example/dashboard#ask-7"


def texts(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def assert_slack_sdk_builds(blocks: list[dict[str, Any]]) -> None:
    """Each block is one slack_sdk's models parse, validate and turn back into the same JSON:
    the renderer writes Block Kit as dicts (for speed), slack_sdk still says it is right."""
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        assert parsed.to_dict() == block  # to_dict() runs the validators: raises when broken


def test_markup_in_user_text_is_shown_not_interpreted() -> None:
    hostile = "<!channel> <!here> <!everyone> <@U123> <http://evil.example|your bank> & co"
    blocks = render(
        Message(
            title="<!channel>",
            sections=(hostile,),
            facts=(Fact(label="From", value="<!here>"),),
            footer="<!everyone>",
        )
    )
    section = blocks[1]["text"]
    assert section["type"] == "mrkdwn" and section["verbatim"] is True
    assert section["text"] == (
        "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U123&gt; "
        "&lt;http://evil.example|your bank&gt; &amp; co"
    )
    raw = texts(blocks)
    for control in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<http://evil"):
        assert control not in raw.replace(blocks[0]["text"]["text"], "")
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "<!channel>"}}
    assert "<" not in fallback(Message(sections=(hostile,)))


def test_a_reply_of_sentences_is_escaped_text_and_a_card_is_blocks() -> None:
    sentences = (
        Message(sections=("Ask #4 sent to Dana <!here> & co.",)),
        Message(sections=("Needed by Fri.",)),
    )
    assert reply_body(sentences) == {
        "text": "Ask #4 sent to Dana &lt;!here&gt; &amp; co.\n\nNeeded by Fri."
    }
    card = Message(
        title="Ask #4", sections=("Two nurses",), actions=(Action(id="a", label="A", value="4"),)
    )
    body = reply_body((card,))
    assert body["text"] == "Ask #4\nTwo nurses"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "actions"]
    long = reply_body((Message(sections=("x" * 2000, "y" * 1200)),))
    assert [b["type"] for b in long["blocks"]] == ["section", "section"]


def test_long_text_is_cut_with_a_link_and_never_splits_an_entity() -> None:
    text = "a" * 2990 + "&&&&&&&&&&&&&&&&&&&&"
    cut = fit(text, 3000, LINK)
    assert len(cut) <= 3000
    assert cut.endswith(f"… <{LINK}|full text>")
    body = cut.removesuffix(f"… <{LINK}|full text>")
    assert body.replace("&amp;", "").strip("a") == ""
    assert escape("<&>") == "&lt;&amp;&gt;"


def test_every_limit_holds_for_an_oversized_message() -> None:
    message = Message(
        title="T" * 400,
        sections=tuple(f"section {i} " + "x" * 4000 for i in range(80)),
        facts=tuple(Fact(label=f"L{i}", value="v" * 3000) for i in range(23)),
        actions=tuple(Action(id="ask.approve", label="A" * 100, value=str(i)) for i in range(30)),
        footer="f" * 5000,
        link=LINK,
    )
    rendered = render(message)
    assert len(rendered) <= 50
    assert_slack_sdk_builds(rendered)  # its validators raise on any broken limit
    assert len(rendered[0]["text"]["text"]) == 150 and rendered[0]["text"]["text"].endswith("…")
    sections = [b for b in rendered if b["type"] == "section" and "text" in b]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert sections[0]["text"]["text"].endswith(f"… <{LINK}|full text>")
    assert "more" in sections[-1]["text"]["text"] and LINK in sections[-1]["text"]["text"]
    fields = [b for b in rendered if b["type"] == "section" and "fields" in b]
    assert [len(b["fields"]) for b in fields] == [10, 10, 3]
    actions = [b for b in rendered if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [25, 5]
    assert all(len(e["text"]["text"]) <= 75 for b in actions for e in b["elements"])
    assert len(render_many([message, message])) <= 50


def test_buttons_have_unique_action_ids_that_parse_back() -> None:
    actions = (
        Action(id="ask.approve", label="Approve", value="7", style=Style.PRIMARY),
        Action(
            id="ask.decline",
            label="Decline",
            value="7",
            style=Style.DANGER,
            input=InputKind.RATIONALE,
        ),
        Action(id="ask.info", label="Need info", value="7", input=InputKind.QUESTION),
    )
    (block,) = [b for b in render(Message(actions=actions)) if b["type"] == "actions"]
    ids = [e["action_id"] for e in block["elements"]]
    assert len(set(ids)) == 3
    assert [parse_action_id(i) for i in ids] == [
        ("ask.approve", InputKind.NONE),
        ("ask.decline", InputKind.RATIONALE),
        ("ask.info", InputKind.QUESTION),
    ]
    assert [e.get("style") for e in block["elements"]] == ["primary", "danger", None]
    assert [e["value"] for e in block["elements"]] == ["7", "7", "7"]
    assert action_id(actions[0], 0) == "ask.approve|none|0"


def test_menu_actions_become_a_static_select() -> None:
    snooze = Action(
        id="ask.snooze", label="Snooze", value="7", choices=(("1d", "A day"), ("1w", "A week"))
    )
    (block,) = [b for b in render(Message(actions=(snooze,))) if b["type"] == "actions"]
    (element,) = block["elements"]
    assert element["type"] == "static_select"
    assert [o["value"] for o in element["options"]] == ["1d", "1w"]
    assert parse_action_id(element["action_id"]) == ("ask.snooze", InputKind.NONE)


def test_every_kind_of_block_is_what_slack_sdk_would_build() -> None:
    card = Message(
        title="Ask #7 · #SEPSIS",
        sections=("Ana asks: two more nurses & <co>", "Why you: Accountable for staffing"),
        facts=(Fact(label="Needed by", value="Fri 4 Dec"), Fact(label="Area", value="staffing")),
        actions=(
            Action(id="ask.approve", label="Approve", value="7", style=Style.PRIMARY),
            Action(id="ask.decline", label="Decline", value="7", style=Style.DANGER),
            Action(id="ask.info", label="Need info", value="7", input=InputKind.QUESTION),
            Action(id="ask.snooze", label="Snooze", value="7", choices=(("1d", "A day"),)),
        ),
        footer="Raised by Ana Gomez",
        link=LINK,
    )
    huge = Message(
        title="T" * 400,
        sections=tuple("x" * 4000 for _ in range(80)),
        facts=tuple(Fact(label="L" * 300, value="v" * 3000) for _ in range(23)),
        actions=tuple(Action(id="a", label="A" * 100, value=str(i)) for i in range(30)),
        footer="f" * 5000,
        link=LINK,
    )
    for blocks in (
        render(card),
        render(huge),
        render_many([card, huge, card]),
        with_thread_link(render(card), "https://slack.example/archives/C1/p1"),
        reply_body((card, Message(sections=("Done.",))))["blocks"],
    ):
        assert_slack_sdk_builds(blocks)
    tab = home_view(waiting=(card,), projects=(card, huge), notice=(card,))
    assert tab["type"] == "home" and len(tab["blocks"]) <= 100
    assert_slack_sdk_builds(tab["blocks"])
