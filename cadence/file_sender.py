"""A Sender that appends every delivery to a JSON-lines file instead of calling a platform.

For a dry run (``OUTBOX_FILE``), demos without credentials, and tests that need to watch a real
``leaderbot serve`` process deliver. One line per send: the outbox key, platform, address,
person, the neutral message, and where it was threaded or replaced.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from bot.model import Platform
from bot.ports import Delivery, SendOutcome, SendResult

__all__ = ["FileSender"]


class FileSender:
    def __init__(self, path: Path, platform: Platform) -> None:
        self.path = path
        self.platform = platform

    async def send(self, delivery: Delivery) -> SendResult:
        row = delivery.outbox
        line = json.dumps(
            {
                "key": row.key,
                "platform": row.platform.value,
                "address": row.address,
                "person_id": row.person_id,
                "project_id": row.project_id,
                "thread_root": delivery.thread_root,
                "replaces_ref": delivery.replaces_ref,
                "message": asdict(delivery.message),
            },
            separators=(",", ":"),
        )
        await asyncio.to_thread(self._append, line)
        return SendResult(outcome=SendOutcome.SENT, platform_ref=f"file:{row.id}")

    def _append(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
