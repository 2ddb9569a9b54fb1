"""Adaptive Cards the Teams adapter emits: schema-valid 1.5, escaped, and small enough."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.teams.render import (
    MAX_CARD_BYTES,
    card_size,
    escape,
    render_card,
    render_form,
    render_notice,
    render_text,
    text_input_id,
)
from bot.forms import FieldKind, Form, FormField
from bot.messages import Action, Fact, InputKind, Message, Style, Target, text

Check = Callable[[dict[str, Any]], None]

ASK = Message(
    title="Ask from Ana Lopez — #SEPSIS",
    sections=("Approve 0.5 FTE for the pilot",),
    facts=(Fact(label="Needed by", value="Fri 4 Dec"), Fact(label="Area", value="staffing")),
    actions=(
        Action(id="ask.approve", label="Approve", value="12", style=Style.PRIMARY),
        Action(
            id="ask.decline",
            label="Decline",
            value="12",
            style=Style.DANGER,
            input=InputKind.RATIONALE,
        ),
        Action(id="ask.info", label="Need info", value="12", input=InputKind.QUESTION),
        Action(
            id="ask.snooze",
            label="Remind me",
            value="12",
            choices=(("1d", "Tomorrow"), ("1w", "Next week")),
        ),
    ),
    footer="Only Ben Okafor (or their delegate) can decide.",
    target=Target(person_id=2),
    key="ask:12:assigned",
    link="https://leaderbot.example.org/asks/12",
)


def test_ask_card_is_valid_with_execute_buttons(assert_valid_card: Check) -> None:
    card = render_card(ASK)
    assert_valid_card(card)
    approve, decline, info, snooze = card["actions"]
    assert approve == {
        "type": "Action.Execute",
        "title": "Approve",
        "style": "positive",
        "verb": "ask.approve",
        "data": {"value": "12"},
        "fallback": {
            "type": "Action.Submit",
            "title": "Approve",
            "style": "positive",
            "data": {"verb": "ask.approve", "value": "12"},
        },
    }
    assert decline["type"] == "Action.ShowCard"
    (text_box,) = decline["card"]["body"]
    assert text_box["id"] == text_input_id("ask.decline") and text_box["isMultiline"]
    assert text_box["isRequired"] is True
    assert decline["card"]["actions"][0]["verb"] == "ask.decline"
    assert info["card"]["body"][0]["isRequired"] is False
    assert snooze["card"]["body"][0]["type"] == "Input.ChoiceSet"
    assert [c["value"] for c in snooze["card"]["body"][0]["choices"]] == ["1d", "1w"]


def test_decided_card_has_no_actions(assert_valid_card: Check) -> None:
    decided = Message(title="Approved by Ben Okafor", sections=("Approve 0.5 FTE",))
    card = render_card(decided)
    assert_valid_card(card)
    assert "actions" not in card


def test_forms_and_notices_are_valid(assert_valid_card: Check) -> None:
    form = Form(
        id="ask",
        title="Raise an ask",
        submit_label="Send",
        fields=(
            FormField(name="text", label="What do you need?", kind=FieldKind.MULTILINE),
            FormField(
                name="project",
                label="Project",
                kind=FieldKind.SELECT,
                options=(("SEPSIS", "Sepsis"),),
            ),
            FormField(name="who", label="Who", kind=FieldKind.PERSON, required=False),
            FormField(name="by", label="Needed by", kind=FieldKind.DATE, required=False),
            FormField(name="area", label="Area", kind=FieldKind.TEXT, initial="*", max_length=40),
        ),
    )
    card = render_form(form)
    assert_valid_card(card)
    assert card["actions"][0]["verb"] == "leaderbot.form"
    assert card["actions"][0]["data"] == {"form": "ask"}
    assert [i["id"] for i in card["body"][1:]] == [
        "field.text",
        "field.project",
        "field.who",
        "field.by",
        "field.area",
    ]
    refusal = text("Only Ben Okafor can decide this ask.")
    assert_valid_card(render_notice([refusal]))
    on_top = render_notice([refusal], render_card(ASK))
    assert_valid_card(on_top)
    assert on_top["body"][0]["type"] == "Container"
    assert on_top["actions"] == render_card(ASK)["actions"]


def test_user_text_cannot_spoof_links_mentions_or_markup(assert_valid_card: Check) -> None:
    evil = "[Approve here](https://evil.example) <at>Ben</at> **now** _x_ `y` # z {{DATE(2026)}}"
    card = render_card(Message(title=evil, sections=(evil,), facts=(Fact(label=evil, value=evil),)))
    assert_valid_card(card)
    for text_value in _texts(card):
        assert not re.search(r"(?<!\\)\[[^\]]*\]\(", text_value), text_value  # no link
        assert not re.search(r"(?<!\\)[*_]", text_value), text_value  # no emphasis
        assert "{{" not in text_value  # no date function
    # Nothing else is escaped: Teams would show those backslashes (issue 13).
    assert escape("a.b-c (keep it to yourself) & #1 <x>") == "a.b-c (keep it to yourself) & #1 <x>"
    assert escape("1. one\n- two") == "1. one\n- two"
    assert escape("snake_case") == "snake_case"  # one underscore emphasises nothing
    assert "&lt;at>Ben&lt;/at>" in render_text(text(evil))  # message text reads HTML


def test_urls_are_never_escaped() -> None:
    url = "https://leaderbot.example.org/dashboard?org=1&exp=1795442400&sig=a_b*c_d"
    said = f"See *the* dashboard: {url} (signed_link)"
    card = render_card(Message(sections=(said,), footer=url, link=url))
    for text_value in _texts(card):
        assert url in text_value
    assert url in render_text(text(said))


_NO_BACKSLASH = st.text(st.characters(blacklist_characters="\\", blacklist_categories=("Cs",)))


@settings(max_examples=200, deadline=None)
@given(
    before=_NO_BACKSLASH.filter(lambda t: len(t) < 40),
    query=st.text(alphabet="abc=&_*()[]#%-.~", max_size=30),
    after=_NO_BACKSLASH.filter(lambda t: len(t) < 40),
)
def test_no_backslash_inside_any_url(before: str, query: str, after: str) -> None:
    """Whatever surrounds it, a URL in a card or message text arrives exactly as it was, and
    no backslash is ever put before a character Teams shows literally (the input has none, so
    every backslash is the renderer's)."""
    url = f"https://leaderbot.example.org/x?{query}"
    said = f"{before} {url} {after}"
    card = render_card(Message(title=said, sections=(said,), facts=(Fact(label="L", value=said),)))
    texts = [t for t in _texts(card) if t != "L"]
    assert len(texts) == 3  # title, section, fact value
    for text_value in [*texts, render_text(text(said))]:
        assert f"{url} " in text_value, text_value
        assert not re.search(r"\\[^\[*_]", text_value), text_value


def test_lines_are_paragraphs_as_adaptive_card_markdown_expects() -> None:
    help_text = "Commands:\nask @dana …\nblocker …\n\nMore: help ask"
    card = render_card(Message(title="Help", sections=(help_text,)))
    (section,) = [t for t in _texts(card) if t.startswith("Commands")]
    assert section == "Commands:\n\nask @dana …\n\nblocker …\n\nMore: help ask"
    assert render_text(text(help_text)) == section


def test_huge_text_is_cut_with_a_link(assert_valid_card: Check) -> None:
    huge = "x" * 300_000
    message = Message(
        title=huge,
        sections=(huge, huge, "<" * 100_000),
        facts=tuple(Fact(label=f"f{i}", value=huge) for i in range(20)),
        link="https://leaderbot.example.org/asks/12",
    )
    card = render_card(message)
    assert_valid_card(card)
    assert card_size(card) <= MAX_CARD_BYTES <= 80_000
    assert "…" in card["body"][1]["text"]
    assert "(https://leaderbot.example.org/asks/12)" in card["body"][1]["text"]
    assert len(render_text(Message(sections=(huge,), link=message.link)).encode()) < 80_000


def _texts(card: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for element in card["body"]:
        if element["type"] == "TextBlock":
            found.append(element["text"])
        if element["type"] == "FactSet":
            found.extend(v for f in element["facts"] for v in (f["title"], f["value"]))
    return found
