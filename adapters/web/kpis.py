"""KPIs with their observations: what the project page charts and ``/api/v1/kpis`` returns.

One loader for both, so a run chart and the JSON a governance analyst downloads show the same
values; the chart's input (:class:`adapters.web.charts.RunPoint`) is made from these rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from adapters.web.charts import RunPoint, run_chart
from bot.ports import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class ObservationRow:
    observed_on: date
    value: float
    level: str
    """``ok``, ``warn`` or ``alert``, as judged against the thresholds when it was recorded."""


@dataclass(frozen=True, kw_only=True)
class KpiRow:
    id: int
    project: str
    name: str
    unit: str
    direction: str
    """``higher`` or ``lower`` is better."""
    target: float | None
    warn: float | None
    alert: float | None
    observations: list[ObservationRow]
    """Oldest first."""


async def load_kpis(
    uow: UnitOfWork, *, organization_id: int, project_ids: Collection[int] | None = None
) -> list[KpiRow]:
    """Every measure of the organization's projects (or of ``project_ids``), by project key
    then name, each with all its observations."""
    projects = {
        p.id: p
        for p in await uow.projects.find(organization_id=organization_id, order_by="key")
        if project_ids is None or p.id in project_ids
    }
    if not projects:
        return []
    measures = await uow.measures.find(project_id=list(projects), order_by="name")
    observed: dict[int, list[ObservationRow]] = defaultdict(list)
    if measures:
        for o in await uow.observations.find(
            measure_id=[m.id for m in measures], order_by="observed_on"
        ):
            observed[o.measure_id].append(
                ObservationRow(observed_on=o.observed_on, value=o.value, level=str(o.level))
            )
    rows = [
        KpiRow(
            id=m.id,
            project=projects[m.project_id].key,
            name=m.name,
            unit=m.unit,
            direction=str(m.direction),
            target=m.target,
            warn=m.warn,
            alert=m.alert,
            observations=observed[m.id],
        )
        for m in measures
    ]
    return sorted(rows, key=lambda k: (k.project, k.name))


def kpi_chart(kpi: KpiRow) -> str:
    """The KPI's run chart (an HTML fragment, see :mod:`adapters.web.charts`)."""
    return run_chart(
        chart_id=f"kpi-{kpi.id}",
        name=kpi.name,
        unit=kpi.unit,
        points=[RunPoint(on=o.observed_on, value=o.value, level=o.level) for o in kpi.observations],
        target=kpi.target,
        warn=kpi.warn,
        alert=kpi.alert,
    )
