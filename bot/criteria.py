"""What ``Repository.find`` criteria mean, evaluated in Python (DESIGN §6).

The SQL repositories translate criteria into WHERE clauses; anything that answers ``find`` from
rows it holds in memory (the process's copy of the directory tables in ``storage/``, the
in-memory unit of work of the tests) evaluates them here, so there is one Python meaning of
``field=v``, ``field=[…]``, ``field__ne`` and the ordering suffixes, and of ``order_by``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Container, Iterable
from datetime import datetime
from typing import Any

ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def check_aware(value: object) -> None:
    """Stored datetimes are timezone-aware; comparing with a naive one is a caller's bug."""
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes")


def equals(actual: object, value: object) -> bool:
    """``field=value``: ``None`` matches NULL, a collection is membership (SQL's IN)."""
    if isinstance(value, list | tuple | set | frozenset):
        return actual in value
    return actual is None if value is None else actual == value


def _test(op: str, value: object) -> Callable[[Any], bool]:
    if op == "":
        return lambda actual: equals(actual, value)
    if op == "ne":
        return lambda actual: not equals(actual, value)
    compare = ORDERINGS[op]
    return lambda actual: actual is not None and compare(actual, value)


def criterion(owner: str, names: Container[str], key: str, value: object) -> tuple[str, str]:
    """One criterion ``key=value`` as (field, suffix), checked against the fields ``names`` of
    ``owner`` (named in the error).

    Raises:
        ValueError: for an unknown field or suffix, or ``None`` given to an ordering suffix.
    """
    name, _, op = key.partition("__")
    if name not in names:
        raise ValueError(f"{owner} has no field {name!r}")
    if op not in ("", "ne", *ORDERINGS):
        raise ValueError(f"unknown criterion suffix in {key!r}")
    if op in ORDERINGS and value is None:
        raise ValueError(f"{key}=None compares with nothing; use {name}=None")
    return name, op


def predicate(
    entity: type[Any], names: Collection[str], where: dict[str, object]
) -> Callable[[Any], bool]:
    """``find`` criteria as one test of a row; bad criteria fail here, even on an empty table.

    Raises:
        ValueError: for a criterion :func:`criterion` refuses, or a naive datetime.
    """
    tests: list[tuple[str, Callable[[Any], bool]]] = []
    for key, value in where.items():
        name, op = criterion(entity.__name__, names, key, value)
        check_aware(value)
        tests.append((name, _test(op, value)))
    return lambda row: all(test(getattr(row, name)) for name, test in tests)


def ordered(
    entity: type[Any], names: Collection[str], rows: Iterable[Any], order_by: str | None
) -> list[Any]:
    """``rows`` sorted as ``order_by`` says: ``field`` or ``-field``, NULLs after every value,
    then ``id`` in the same direction so the order is total.

    Raises:
        ValueError: ``order_by`` names no field of ``entity``.
    """
    name = (order_by or "id").removeprefix("-")
    if name not in names:
        raise ValueError(f"{entity.__name__} has no field {name!r} to order by")

    def key(row: Any) -> tuple[bool, Any, int]:
        value = getattr(row, name)
        return (value is None, value, row.id)

    return sorted(rows, key=key, reverse=bool(order_by and order_by.startswith("-")))
