"""Every entity of ``bot.model`` is stored, field for field: each field has its column and each
column its field, nullable exactly when the field may be ``None`` (``storage/tables.py``)."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from datetime import datetime
from types import NoneType
from typing import get_args, get_type_hints

import pytest
from sqlalchemy import ForeignKey

from bot import model
from storage.tables import DIRECTORY_VERSIONS, INBOUND_DELIVERIES, METADATA, TABLES, entity_table

ENTITIES = [
    value
    for value in vars(model).values()
    if inspect.isclass(value)
    and dataclasses.is_dataclass(value)
    and value.__module__ == model.__name__
]


def test_every_entity_has_a_table_and_every_table_an_entity_or_a_purpose() -> None:
    assert set(TABLES) == set(ENTITIES)
    assert set(METADATA.tables.values()) == {
        *TABLES.values(),
        DIRECTORY_VERSIONS,
        INBOUND_DELIVERIES,
    }


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda entity: entity.__name__)
def test_each_field_has_its_column_and_each_column_its_field(entity: type) -> None:
    hints = get_type_hints(entity)
    table = TABLES[entity]

    columns = {column.name: column.nullable for column in table.columns}
    fields = {
        field.name: NoneType in get_args(hints[field.name]) for field in dataclasses.fields(entity)
    }

    assert columns == fields
    assert [column.name for column in table.primary_key] == ["id"]


def test_a_field_of_a_type_no_column_can_hold_is_refused_before_any_table_exists() -> None:
    @dataclass(kw_only=True)
    class Odd:
        id: int = 0
        tags: set[str]

    with pytest.raises(TypeError, match=r"Odd\.tags: no column type for set\[str\]"):
        entity_table(Odd, "odd")
    assert "odd" not in METADATA.tables


def test_a_declaration_for_a_field_the_entity_lacks_is_refused() -> None:
    @dataclass(kw_only=True)
    class Note:
        id: int = 0
        at: datetime

    with pytest.raises(TypeError, match="Note has no field author_id"):
        entity_table(Note, "notes", author_id=ForeignKey("people.id"))
    assert "notes" not in METADATA.tables
