"""The audit trail: every state change writes one event (who, what, when, from where)."""

from __future__ import annotations

from datetime import datetime

from bot.model import AuditEvent
from bot.ports import UnitOfWork


async def record(
    uow: UnitOfWork,
    *,
    organization_id: int,
    actor_id: int | None,
    action: str,
    subject: str,
    at: datetime,
    detail: str = "",
    platform: str = "",
) -> None:
    """Append one audit event in the caller's transaction (so it commits with the change)."""
    await uow.audit.add(
        AuditEvent(
            organization_id=organization_id,
            actor_id=actor_id,
            action=action,
            subject=subject,
            detail=detail[:500],
            platform=platform,
            at=at,
        )
    )
