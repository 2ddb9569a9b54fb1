"""``leaderbot console --as <person>``: the bot in a terminal, on the same core and database.

It is how a newcomer tries Leaderbot with no chat credentials, and the proof that the core is
platform-neutral. Lines are commands of the grammar; ``/as <person>`` switches identity; a
number clicks the button with that number (``2 budget is frozen`` clicks and types a reason).
Reads stdin in a thread, so it never blocks the event loop and can be scripted through a pipe.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from adapters.console.render import render
from bot.context import Caller, Reply
from bot.dispatch import Core
from bot.inbound import Click, Inbound, Text
from bot.messages import Action, InputKind, Message
from bot.model import Platform

BANNER = (
    "Leaderbot console — type `help`, `/as <person>` to switch, `/channels on` to see your "
    "projects' channel posts, `/quit` to leave."
)
CHANNELS_ON = (
    "Channel posts of your projects are shown as `[in #channel] …`. `/channels off` hides them."
)
CHANNELS_OFF = "Channel posts are hidden; you see the messages addressed to you."


class Console:
    """One terminal session: who is typing, and the buttons currently on screen."""

    def __init__(self, core: Core, out: TextIO) -> None:
        self.core = core
        self.out = out
        self.caller: Caller | None = None
        self.choices: list[Action] = []
        self.channels = False
        """Show the project channels' posts too (``/channels on``): the messages addressed to
        the person at the keyboard are what a session shows by default."""
        self.answered: tuple[str, ...] = ()
        """The items (``ask:3``) the last reply was about: the inbox's updates of their cards
        are that same outcome, already printed once."""

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def become(self, handle: str) -> bool:
        caller = await self.core.caller_for_handle(handle, platform=Platform.CONSOLE)
        if caller is None:
            self.say(f"I don't know anyone called @{handle.lstrip('@')}.")
            return False
        self.caller = caller
        self.say(f"You are now @{caller.handle}.")
        await self.show_inbox()
        return True

    def show(self, messages: tuple[Message, ...] | list[Message], *, where: str = "") -> None:
        for message in messages:
            body, actions = render(message, first_choice=len(self.choices) + 1)
            self.choices += actions
            prefix = f"[{where}] " if where else ""
            self.say(prefix + body.replace("\n", "\n" + " " * len(prefix)))

    async def show_inbox(self) -> None:
        if self.caller is None:
            return
        for where, message in await self.core.inbox(self.caller, channels=self.channels):
            label = "to you" if where == "you" else f"in {where}"
            if message.replaces_key is None:
                self.show([message], where=label)
            elif _item(message.replaces_key) not in self.answered:
                self.say(f"[{label}] {_outcome_line(message)}")  # an earlier card, updated
        self.answered = ()

    async def handle(self, line: str) -> bool:
        """One input line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        if line.startswith("/as"):
            await self.become(line[3:].strip())
            return True
        if line.startswith("/channels"):
            self.channels = line.split()[-1] != "off"
            self.say(CHANNELS_ON if self.channels else CHANNELS_OFF)
            await self.show_inbox()
            return True
        if self.caller is None:
            self.say("Choose who you are first: /as <person>")
            return True
        head, _, rest = line.partition(" ")
        if head.isdigit():
            reply = await self.click(int(head), rest)
        else:
            self.choices = []
            reply = await self.ask(Text(text=line))
        if reply is not None:
            self.answered = reply.changed
            self.show(reply.messages)
            if reply.form is not None:
                self.say(f"In the console, type it in one line: help {reply.form.id}")
        await self.show_inbox()
        return True

    async def ask(self, request: Text | Click) -> Reply:
        """``request`` of the person at the keyboard, through the core's one entry point."""
        assert self.caller is not None
        handled = await self.core.handle(
            Inbound(
                platform=Platform.CONSOLE,
                workspace="",
                user_id=self.caller.handle,
                request=request,
                caller=self.caller,
            )
        )
        assert isinstance(handled, Reply)  # a caller given is never a newcomer
        return handled

    async def click(self, number: int, typed: str) -> Reply | None:
        assert self.caller is not None
        if not 1 <= number <= len(self.choices):
            self.say(f"There is no choice {number} on screen.")
            return None
        action = self.choices[number - 1]
        if action.input is not InputKind.NONE and not typed.strip():
            self.say(f"Add your text after the number: {number} <text>")
            return None
        reply = await self.ask(Click(action=action.id, value=action.value, text=typed))
        if reply.replacement is not None and not reply.messages:
            self.say(_outcome_line(reply.replacement))  # the clicked card, now: one line
        return reply


def _item(key: str) -> str:
    """The item a message key is about: ``ask:3:card`` → ``ask:3``."""
    return ":".join(key.split(":", 2)[:2])


def _outcome_line(card: Message) -> str:
    """A card that changed, as the one line a terminal needs: its title and outcome."""
    return f"{card.title.partition(' — ')[0]} — {card.footer}" if card.footer else card.title


async def run_console(core: Core, handle: str, stdin: TextIO, stdout: TextIO) -> int:
    """Run the REPL until EOF or ``/quit``; returns a process exit code."""
    console = Console(core, stdout)
    interactive = stdin.isatty()
    if interactive:
        console.say(BANNER)
    if not await console.become(handle):
        return 1
    while True:
        if interactive:
            stdout.write(f"{console.caller.handle if console.caller else ''}> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line or not await console.handle(line):
            return 0
