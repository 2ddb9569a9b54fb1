"""Secrets never reach a log (DESIGN §8, issue 11 §9): one filter on the root logger's handlers.

slack_sdk logs whole Web API requests and responses at DEBUG (the OAuth exchange's client
secret, code and the bot and user tokens it returns; every message body, dashboard links with
their signatures included), aiohttp and botbuilder log headers and URLs. Rather than chase each
library, :func:`install` puts :class:`RedactSecrets` on every handler of the root logger, where
all of those records end up, and it rewrites each record's message (and traceback) with the
secret values replaced by ``[redacted]`` before any handler formats it.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"

_NAMES = (
    "client_secret|code|token|access_token|refresh_token|bot_token|user_token|app_password"
    "|password|secret|sig|signature|admin_token"
)
_VALUE_END = r"""[^\s"'&,;|<>}\]\)]+"""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr-/xoxe-…, rotated xoxe.xoxb-…, app xapp-…
    (re.compile(r"\bxox[a-z]*(?:\.xox[a-z]*)?-[A-Za-z0-9-]+"), MASK),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), MASK),
    # Authorization headers, and JWTs (Bot Framework tokens) wherever they appear.
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # name=value in query strings and form bodies: ?sig=…, &code=…, client_secret=…
    # (not a value already masked: redacting twice, by the filter and a formatter, is a no-op)
    (
        re.compile(rf"(?i)(?<![A-Za-z0-9_])({_NAMES})=(?!{re.escape(MASK)})({_VALUE_END})"),
        rf"\1={MASK}",
    ),
    # 'name': 'value' and "name": "value" in logged dicts and JSON
    (
        re.compile(rf"""(?i)(['"])({_NAMES})\1(\s*:\s*)(['"])(?:(?!\4).)*\4"""),
        rf"\1\2\1\3\4{MASK}\4",
    ),
)


def redact(text: str) -> str:
    """``text`` with every secret value the patterns know replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and traceback in place; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format: let the handler report it as usual
            return True
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (the root logger by default), once each:
    records of every library's loggers propagate to those handlers."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
