"""The App Home tab: what waits on the person, and their projects, as one ``home`` view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.views import View

from adapters.slack.render import divider, header, render
from bot.messages import Message

HOME_BLOCKS = 100
"""Slack's limit for a Home tab (messages have 50)."""


def home_view(
    *, waiting: Sequence[Message], projects: Sequence[Message], notice: Sequence[Message] = ()
) -> dict[str, Any]:
    """ "Waiting on you" then "Your projects"; each section's messages as Block Kit, cut to fit.
    ``notice``: the outcome of a click on the tab, on top (the tab has no thread to answer in)."""
    blocks: list[Any] = []
    for message in notice:
        blocks += [*render(message), divider()]
    for heading, messages in (("Waiting on you", waiting), ("Your projects", projects)):
        section: list[Any] = [header(heading)]
        for index, message in enumerate(messages):
            section += ([divider()] if index else []) + render(message)
        blocks += section
    return View(type="home", blocks=blocks[:HOME_BLOCKS]).to_dict()
