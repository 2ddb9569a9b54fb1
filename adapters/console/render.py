"""Plain-text rendering of neutral messages for the terminal; buttons become numbered choices."""

from __future__ import annotations

from bot.messages import Action, InputKind, Message, unquote

INPUT_PROMPT = {
    InputKind.RATIONALE: "why",
    InputKind.QUESTION: "your question",
    InputKind.COMMENT: "your text",
}


QUOTE_INDENT = "    "
"""A quoted line (a person's own words) is indented under the line that introduces it."""


def _line(line: str) -> str:
    quoted, words = unquote(line)
    return QUOTE_INDENT + words if quoted else line


def render(message: Message, *, first_choice: int) -> tuple[str, list[Action]]:
    """The message as text, and its actions in the order of their numbers."""
    lines: list[str] = []
    if message.title:
        lines += [message.title, "─" * min(len(message.title), 60)]
    for section in message.sections:
        lines += [_line(line) for line in section.splitlines()] or [""]
    width = max((len(f.label) for f in message.facts), default=0)
    lines += [f"{f.label.ljust(width)} : {f.value}" for f in message.facts]
    if message.footer:
        lines.append(message.footer)
    actions: list[Action] = []
    for action in message.actions:
        for value, label in action.choices or ((action.value, ""),):
            number = first_choice + len(actions)
            actions.append(
                Action(id=action.id, label=action.label, value=value, input=action.input)
            )
            suffix = f" {label}" if label else ""
            hint = f" <{INPUT_PROMPT[action.input]}>" if action.input in INPUT_PROMPT else ""
            lines.append(f"  [{number}] {action.label}{suffix}{hint}")
    return "\n".join(lines), actions
