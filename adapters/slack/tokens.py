"""Slack OAuth tokens: encrypted at rest (DESIGN §8), and each workspace's bot found recently
kept at hand.

:class:`EncryptedInstallationStore` wraps slack_sdk's SQLAlchemy installation store: it encrypts
the bot and user tokens (and their refresh tokens) with Fernet before a row is written and
decrypts them when one is read, so a database dump or backup holds no usable token. Everything
else (team ids, scopes, dates) stays readable for queries.

Two situations must not take the server down:
- a stored token that does not decrypt (the key was changed or mistyped): one clear log line per
  workspace, and the workspace is treated as not installed — its requests are refused and its
  outbox rows fail — until the app is reinstalled there or the old key is restored;
- a token stored in plain text before the key was configured (Slack tokens start with ``xox``):
  still read as it is, and encrypted the next time the workspace installs the app.

:class:`RecentBots` sits in front of the store: every request is authorized by its workspace's
bot, and every delivery sends with it, and finding it through slack_sdk's store (a query on the
store's engine, a decryption) cost more than the rest of a command in OAuth mode. A bot found is
kept for :data:`BOT_TTL_S`; a save or delete through this process forgets it at once. Another
process's reinstall (a new token) is seen within that time, and sooner by the outbox: a send
Slack refuses as unauthorized forgets the bot and tries once more with the stored one
(:mod:`adapters.slack.sender`). Within that time a newcomer's ``users.info`` made with the old
token fails, and they are told nothing was done and to try again (a clear refusal, no change).
A workspace not found is not remembered, so an install is seen at once.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken
from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation

log = logging.getLogger(__name__)

TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
"""The secret attributes of slack_sdk's ``Bot`` and ``Installation`` (a Bot has the first two)."""
COLUMN = 200
"""Width of slack_sdk's token columns (``String(200)``), which PostgreSQL enforces: Fernet makes a
token about 2.2 times longer, so tokens up to 79 characters fit (bot tokens are about 55)."""
PLAIN_PREFIX = "xox"
"""How every Slack token starts (``xoxb-``, ``xoxp-``, ``xoxe-``); a Fernet token never does."""

BOT_TTL_S = 30.0
"""How long a bot found is used without looking again: short beside a reinstall done by a
person, long beside the requests of a busy workspace."""
BOTS_HELD = 10_000
"""Workspaces' bots kept at most (the oldest found is forgotten first)."""

Stored = TypeVar("Stored", Bot, Installation)


def fernet(key: str) -> Fernet:
    """The cipher for ``SLACK_ENCRYPTION_KEY``; ValueError when the key is not a Fernet key
    (32 url-safe base64-encoded bytes, as ``Fernet.generate_key()`` prints)."""
    try:
        return Fernet(key.strip().encode())
    except (ValueError, TypeError) as error:
        raise ValueError(
            "SLACK_ENCRYPTION_KEY is not a Fernet key (generate one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")'
        ) from error


class EncryptedInstallationStore(AsyncInstallationStore):
    """An installation store that keeps tokens encrypted in ``inner`` (see module docstring)."""

    def __init__(self, inner: AsyncInstallationStore, cipher: Fernet) -> None:
        self.inner = inner
        self.cipher = cipher
        self._warned: set[str] = set()

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        # The inner store saves the installation's bot row itself, from this encrypted copy.
        await self.inner.async_save(self._sealed(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await self.inner.async_save_bot(self._sealed(bot))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = await self.inner.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(bot) if bot is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        installation = await self.inner.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(installation) if installation is not None else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.inner.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    def _sealed(self, stored: Stored) -> Stored:
        """A copy of ``stored`` with every token encrypted (the caller's object is untouched).
        BoltError (bolt's install page then says ``storage_error``) when an encrypted token
        would not fit its column."""
        sealed = copy.copy(stored)
        for name in TOKEN_FIELDS:
            value = getattr(sealed, name, None)
            if not value:
                continue
            encrypted = self.cipher.encrypt(value.encode()).decode()
            if len(encrypted) > COLUMN:
                raise BoltError(
                    f"the {name} of workspace {stored.team_id} is too long to store encrypted "
                    f"({len(value)} characters; slack_sdk's columns hold {COLUMN})"
                )
            setattr(sealed, name, encrypted)
        return sealed

    def _opened(self, stored: Stored) -> Stored | None:
        """``stored`` with its tokens decrypted, or None when one does not decrypt."""
        for name in TOKEN_FIELDS:
            value = getattr(stored, name, None)
            if not value or value.startswith(PLAIN_PREFIX):
                continue
            try:
                setattr(stored, name, self.cipher.decrypt(value.encode()).decode())
            except InvalidToken:
                self._undecryptable(stored.team_id or stored.enterprise_id or "?")
                return None
        return stored

    def _undecryptable(self, team: str) -> None:
        if team in self._warned:
            return
        self._warned.add(team)
        log.error(
            "Cannot decrypt the stored Slack tokens of workspace %s: SLACK_ENCRYPTION_KEY is not "
            "the key they were saved with. Restore that key, or reinstall the app in the "
            "workspace (/slack/install); until then its requests are refused.",
            team,
        )


class RecentBots(AsyncInstallationStore):
    """``inner``, with each bot found kept for :data:`BOT_TTL_S` (see the module docstring)."""

    def __init__(
        self,
        inner: AsyncInstallationStore,
        *,
        ttl: float = BOT_TTL_S,
        held: int = BOTS_HELD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.ttl = ttl
        self.held = held
        self.clock = clock
        self._found: dict[tuple[str, str], tuple[float, Bot]] = {}
        """(enterprise, team) → (when it is looked for again, the bot)."""

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        self.forget(enterprise_id=installation.enterprise_id, team_id=installation.team_id)
        await self.inner.async_save(installation)

    async def async_save_bot(self, bot: Bot) -> None:
        self.forget(enterprise_id=bot.enterprise_id, team_id=bot.team_id)
        await self.inner.async_save_bot(bot)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = _key(enterprise_id, None if is_enterprise_install else team_id)
        found = self._found.get(key)
        if found is not None and self.clock() < found[0]:
            return found[1]
        bot = await self.inner.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        self._found.pop(key, None)  # a bot found again is the newest, last to be forgotten
        if bot is not None:
            self._found[key] = (self.clock() + self.ttl, bot)
            if len(self._found) > self.held:
                del self._found[next(iter(self._found))]
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await self.inner.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.forget(enterprise_id=enterprise_id, team_id=team_id)
        await self.inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self.forget(enterprise_id=enterprise_id, team_id=team_id)
        await self.inner.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    def forget(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """The next find of this workspace's bot asks the store."""
        self._found.pop(_key(enterprise_id, team_id), None)


def _key(enterprise_id: str | None, team_id: str | None) -> tuple[str, str]:
    """slack_sdk's own key: an org-wide install is the enterprise's, whatever the team."""
    return (enterprise_id or "", team_id or "")
