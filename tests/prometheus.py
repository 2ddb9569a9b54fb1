"""Reading ``/metrics`` the way Prometheus does: with ``prometheus_client``'s own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of sample ``name`` whose labels include ``labels`` (summed over the rest of its
    labels), or None when no sample matches."""
    found = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    ]
    return sum(found) if found else None


def kinds(text: str) -> dict[str, str]:
    """Metric family name → its type (``counter``, ``gauge``, ``histogram``)."""
    return {family.name: family.type for family in text_string_to_metric_families(text)}
