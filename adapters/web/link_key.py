"""The key that signs dashboard links, shared by every process that opens the same database.

``DASHBOARD_SECRET`` when set. Without it, a local SQLite database keeps a random key in a file
beside it (``leaderbot.db.dashboard-key``, readable by its owner only), so ``make run``'s server
and a ``leaderbot console`` on the same file sign and accept the same links with no
configuration; ``make clean`` removes both. Any other database without a secret gets None: the
server then uses a random key per process (and warns), and CLI processes cannot sign.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from adapters.settings import Settings

SUFFIX = ".dashboard-key"


def key_file(database_url: str) -> Path | None:
    """Where a SQLite file database keeps its link key; None for anything else."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}{SUFFIX}")


def link_key(settings: Settings) -> bytes | None:
    """The shared link key, made on first use beside a SQLite database; None when none is."""
    if not settings.dashboard_secret_generated:
        return settings.dashboard_key
    path = key_file(settings.database_url)
    if path is None:
        return None
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_urlsafe(32))
    return path.read_bytes().strip()
