"""Small helpers for sentences people read: counts with the right plural, lists of counts.

Why one module: "0 role(s)" and "1 roles" came from each message counting on its own.
"""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 role``, ``2 roles``; ``many`` for irregular forms (``2 asks await``)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def counted(*entries: tuple[int, str]) -> str:
    """The non-zero counts, comma-separated: ``1 role, 2 RACI letters`` ("" when all are 0)."""
    return ", ".join(plural(n, noun) for n, noun in entries if n)
