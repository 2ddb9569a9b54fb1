"""A quoted line (people's own words) as each platform shows a quote, still escaped."""

from __future__ import annotations

from adapters.console.render import render as console
from adapters.slack.render import render as block_kit
from adapters.teams.render import render_card, render_text
from bot.messages import Message, quote, unquote

WORDS = "Fund *two* <!channel> [nurses](http://evil.example)\n- now"
MESSAGE = Message(sections=("Ask #3 on SEPSIS — from Ana Silva\n" + quote(WORDS),))


def test_a_quote_is_one_line_and_only_the_core_starts_one() -> None:
    line = quote("first\nsecond " + quote("inner"))
    assert unquote(line) == (True, "first second inner")
    assert unquote("plain") == (False, "plain")


def test_slack_shows_a_mrkdwn_quote_with_the_words_escaped() -> None:
    (section,) = block_kit(Message(title="t", sections=MESSAGE.sections))[1:]
    assert section["text"]["text"] == (
        "Ask #3 on SEPSIS — from Ana Silva\n"
        "> Fund *two* &lt;!channel&gt; [nurses](http://evil.example) - now"
    )


def test_teams_starts_the_quote_with_a_bare_sign_and_escapes_the_words() -> None:
    quoted = "> Fund \\*two\\* \\<!channel\\> \\[nurses\\]\\(http://evil.example\\) - now"
    assert render_text(MESSAGE) == f"Ask \\#3 on SEPSIS — from Ana Silva\n{quoted}"
    assert render_card(MESSAGE)["body"][0]["text"].endswith(quoted)


def test_the_console_indents_the_quote() -> None:
    text, _ = console(MESSAGE, first_choice=1)
    assert text == (
        "Ask #3 on SEPSIS — from Ana Silva\n"
        "    Fund *two* <!channel> [nurses](http://evil.example) - now"
    )
