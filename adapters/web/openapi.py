"""The OpenAPI 3.1 document of ``/api/v1`` (served at ``/api/v1/openapi.json``), as data.

Written in one place so it cannot drift from the code unnoticed: every schema closes its objects
(``additionalProperties: false``, every field required), and the API test calls each path
listed here and validates the answer against the schema, so a field added to a row without a
line here, or a line here without the field, fails.
"""

from __future__ import annotations

from typing import Any

from adapters.web.overview import STATES

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(description: str, **properties: Schema) -> Schema:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _list(item: Schema) -> Schema:
    return {"type": "array", "items": item}


def _maybe(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
STR: Schema = {"type": "string"}
BOOL: Schema = {"type": "boolean"}
DATE: Schema = {"type": "string", "format": "date"}
MOMENT: Schema = {"type": "string", "format": "date-time"}

_ASK = {
    "id": INT,
    "project": {**STR, "description": "Project key."},
    "text": STR,
    "state": {
        **STR,
        "enum": ["open", "approved", "declined", "info_requested", "withdrawn", "expired"],
    },
    "requester": STR,
    "assignee": {**STR, "description": "Who must decide it (the Accountable it was routed to)."},
    "needed_by": _maybe(DATE),
    "created_at": MOMENT,
    "age_days": INT,
}
_BLOCKER = {
    "id": INT,
    "project": STR,
    "text": STR,
    "severity": {**STR, "enum": ["low", "medium", "high", "critical"]},
    "state": {**STR, "enum": ["open", "acknowledged", "resolved", "withdrawn"]},
    "level": {**INT, "description": "Rung of the ladder it is at, from 0."},
    "owner": {**STR, "description": "Who holds the current rung."},
    "next_escalation_at": _maybe(MOMENT),
    "created_at": MOMENT,
    "age_days": INT,
}
_OVERDUE = {
    "overdue": {
        **BOOL,
        "description": "Past its needed-by date (ask) or its rung's deadline (blocker).",
    }
}
_PROJECT = {
    "id": INT,
    "key": STR,
    "name": STR,
    "status": {**STR, "enum": ["active", "paused", "closed"]},
    "rag": {**STR, "description": 'Of the latest update: red, amber, green, or "" before one.'},
    "period": {**STR, "description": "ISO week of the latest update."},
}
_FIGURES = {
    "decided": INT,
    "decide_days": _maybe(NUM),
    "open": INT,
    "overdue": INT,
    "unblocked": INT,
    "unblock_days": _maybe(NUM),
    "open_blockers": INT,
    "escalations": INT,
}
_TREND = {
    "sentences": _list(STR),
    "total": _ref("Figures"),
    "weeks": _list(_ref("WeekPoint")),
}

_EVENT = _obj(
    "One event, oldest first.",
    at=MOMENT,
    what=STR,
    who={**STR, "description": '"Carmen Diaz for Dana Lee"; "" for the bot.'},
    detail=STR,
)

SCHEMAS: dict[str, Schema] = {
    "Error": _obj("Why the request was refused.", error=STR),
    "Project": _obj(
        "A project with its latest RAG and how it moved.",
        **_PROJECT,
        rags={**_list(STR), "description": "RAG of the latest updates, oldest first."},
        trend={**STR, "enum": ["improving", "worsening", "steady", ""]},
    ),
    "Ask": _obj("An ask.", **_ASK),
    "Blocker": _obj("An open blocker.", **_BLOCKER),
    "Review": _obj(
        "A KPI threshold crossing its sponsor has not closed yet.",
        id=INT,
        project=STR,
        measure=STR,
        level={**STR, "enum": ["warn", "alert"]},
        value=_maybe(NUM),
        unit=STR,
        observed_on=_maybe(DATE),
        sponsor=STR,
        created_at=MOMENT,
        age_days=INT,
    ),
    "Waiting": _obj(
        'What waits on the viewer: their "waiting on you" page.',
        name=STR,
        today={**DATE, "description": "The viewer's local date: what overdue is measured by."},
        asks={**_list(_ref("Ask")), "description": "Asks they (or a delegate of) may decide."},
        blockers={**_list(_ref("Blocker")), "description": "Blockers at their rung."},
        reviews={**_list(_ref("Review")), "description": "KPI reviews they sponsor."},
        decisions={**_list(_ref("Decision")), "description": "Their latest decisions."},
    ),
    "Item": _obj(
        "An ask's or a blocker's page: its text, facts and every event of its history.",
        kind={**STR, "enum": ["ask", "blocker"]},
        id=INT,
        project=STR,
        project_name=STR,
        text=STR,
        state=STR,
        facts={
            **_list(_obj("One fact, in reading order.", label=STR, value=STR)),
            "description": "Who raised it, who decides, why them, due, ladder…",
        },
        events={
            **_list(_EVENT),
            "description": "Raised and routed, questions, reminders, escalations, decision.",
        },
        conversation={
            **_list(_EVENT),
            "description": 'An ask\'s questions and answers, oldest first: what is "Question" or '
            '"Answer", who said it, detail what they said; empty for a blocker.',
        },
    ),
    "ListedAsk": _obj("An ask in a filtered list.", **_ASK, **_OVERDUE),
    "ListedBlocker": _obj("A blocker in a filtered list.", **_BLOCKER, **_OVERDUE),
    "Decision": _obj(
        "One line of the decision log.",
        id=INT,
        project=STR,
        subject=STR,
        subject_kind={**STR, "enum": ["ask", "blocker", "free"]},
        subject_id=_maybe(INT),
        outcome=STR,
        rationale=STR,
        decided_by={**STR, "description": '"Carmen Diaz for Dana Lee" when a delegate decided.'},
        decided_at=MOMENT,
    ),
    "Observation": _obj(
        "One recorded value of a KPI.",
        observed_on=DATE,
        value=NUM,
        level={**STR, "enum": ["ok", "warn", "alert"]},
    ),
    "Kpi": _obj(
        "A measure with its thresholds and every observation, oldest first.",
        id=INT,
        project=STR,
        name=STR,
        unit=STR,
        direction={**STR, "enum": ["higher", "lower"]},
        target=_maybe(NUM),
        warn=_maybe(NUM),
        alert=_maybe(NUM),
        observations=_list(_ref("Observation")),
    ),
    "Rung": _obj(
        "One rung of a blocker's escalation ladder.",
        name=STR,
        role={
            **STR,
            "description": 'Its holder\'s roles on the ladder: "Accountable", "sponsor", '
            '"executive", "Accountable and sponsor"…',
        },
        state={**STR, "enum": ["passed", "current", "closed", "ahead"]},
    ),
    "LadderBlocker": _obj(
        "A blocker with its ladder.",
        id=INT,
        text=STR,
        area=STR,
        severity=_BLOCKER["severity"],
        state=_BLOCKER["state"],
        ladder=_list(_ref("Rung")),
        next_escalation_at=_maybe(MOMENT),
        created_at=MOMENT,
        age_days=INT,
    ),
    "ProjectDetail": _obj(
        "Everything the project page shows.",
        **_PROJECT,
        aim=STR,
        scope=STR,
        measures=STR,
        priority=STR,
        progress=STR,
        next_steps=STR,
        stakeholders=_list(
            _obj(
                "The stakeholders holding one role.",
                role={
                    **STR,
                    "enum": ["sponsor", "champion", "influencer", "resistor", "lead", "member"],
                },
                people=_list(_obj("A stakeholder.", person_id=INT, name=STR, note=STR)),
            )
        ),
        raci=_obj(
            'The RACI matrix: a row per area, a letter (or "") per person.',
            people=_list(STR),
            rows=_list(_obj("One area.", area=STR, letters=_list(STR))),
        ),
        asks=_list(_ref("Ask")),
        blockers=_list(_ref("LadderBlocker")),
        decisions=_list(_ref("Decision")),
        kpis=_list(_ref("Kpi")),
    ),
    "Figures": _obj("Responsiveness over a stretch of time.", **_FIGURES),
    "WeekPoint": _obj(
        "One ISO week of responsiveness.", week=STR, starts_on=DATE, figures=_ref("Figures")
    ),
    "LeaderResponsiveness": _obj(
        "One leader's responsiveness over the last 12 weeks.",
        person_id=INT,
        name=STR,
        **_TREND,
    ),
    "ProjectResponsiveness": _obj(
        "One project's responsiveness over the last 12 weeks.", key=STR, name=STR, **_TREND
    ),
    "Undelivered": _obj(
        "A message given up or still being retried long after it was due.",
        id=INT,
        state={**STR, "enum": ["given up", "still trying"]},
        to=STR,
        platform=STR,
        title=STR,
        error=STR,
        attempts=INT,
        created_at=MOMENT,
        deadline=_maybe(MOMENT),
    ),
}


def _query(name: str, description: str, schema: Schema) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_FILTERS = [
    _query("project", "A project key: only its items.", STR),
    _query("state", "open (default), overdue, closed or all.", {**STR, "enum": list(STATES)}),
    _query("person", "A handle: asks they raised or decide, blockers they hold.", STR),
]
_FILTERED = {
    "filters": {
        "type": "object",
        "description": "The filters applied, defaults left out.",
        "additionalProperties": STR,
    },
    "notices": {
        **_list(STR),
        "description": "What was wrong with the filters, in words; such a filter matches nothing.",
    },
}

ORGANIZATION = {
    "organization_id": {
        **_maybe(INT),
        "description": "The viewer's organization (null: an admin token on an empty database).",
    }
}


def _refused(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _get(
    summary: str,
    body: dict[str, Schema],
    *,
    parameters: list[Schema] | None = None,
    refusals: dict[str, str] | None = None,
) -> Schema:
    """One read; ``refusals`` are its answers besides 200 and 401 (status → when)."""
    operation: Schema = {
        "summary": summary,
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": _obj(summary, **ORGANIZATION, **body),
                    }
                },
            },
            "401": _refused("No link or token, or a bad or expired one."),
            **{status: _refused(when) for status, when in (refusals or {}).items()},
        },
    }
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def _item(kind: str) -> Schema:
    return _get(
        f"One {kind} with its history (whoever may open its page).",
        {kind: _ref("Item")},
        parameters=[{"name": "id", "in": "path", "required": True, "schema": STR}],
        refusals={
            "403": f"The viewer's roles do not reach this {kind}; says who may see it.",
            "404": f"No such {kind} in the viewer's organization.",
        },
    )


PATHS: dict[str, Schema] = {
    "/api/v1/waiting": _get(
        'What waits on the viewer ("waiting on you").',
        {"waiting": _ref("Waiting")},
        refusals={"403": "The admin token: it has no person to wait on."},
    ),
    "/api/v1/projects": _get("Projects with RAG and trend.", {"projects": _list(_ref("Project"))}),
    "/api/v1/projects/{key}": {
        "get": {
            **_get("One project's page.", {"project": _ref("ProjectDetail")})["get"],
            "parameters": [{"name": "key", "in": "path", "required": True, "schema": STR}],
        }
    },
    "/api/v1/asks": _get(
        "Asks, open ones by default.",
        {**_FILTERED, "asks": _list(_ref("ListedAsk"))},
        parameters=_FILTERS,
    ),
    "/api/v1/asks/{id}": _item("ask"),
    "/api/v1/blockers": _get(
        "Blockers, open ones by default.",
        {**_FILTERED, "blockers": _list(_ref("ListedBlocker"))},
        parameters=_FILTERS,
    ),
    "/api/v1/blockers/{id}": _item("blocker"),
    "/api/v1/decisions": _get(
        "The decision log, newest first.", {"decisions": _list(_ref("Decision"))}
    ),
    "/api/v1/kpis": _get("KPIs with their observations.", {"kpis": _list(_ref("Kpi"))}),
    "/api/v1/responsiveness": _get(
        "Leaders' and projects' responsiveness.",
        {
            "leaders": _list(_ref("LeaderResponsiveness")),
            "projects": _list(_ref("ProjectResponsiveness")),
        },
    ),
    "/api/v1/undelivered": _get(
        "Messages that could not be delivered (admins; empty for others).",
        {"undelivered": _list(_ref("Undelivered"))},
    ),
}


SECURITY: dict[str, Schema] = {
    "personalLink": {
        "type": "apiKey",
        "in": "query",
        "name": "sig",
        "description": "A personal link's query as the bot hands it out: "
        "org=<org>&p=<person>&exp=<epoch seconds>&sig=<HMAC-SHA256 hex of org:person:exp>. "
        "Answers for that person: the projects they are part of (all of them for an admin).",
    },
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "ADMIN_TOKEN, also accepted as ?token=…; &org=<id> picks the "
        "organization (default: the oldest).",
    },
}
"""Either opens the API (one of them per request)."""


def document() -> Schema:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Leaderbot API",
            "version": "1",
            "description": "Read-only JSON of the dashboard's pages, scoped to the viewer "
            "(see docs/api.md).",
        },
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY},
        "security": [{name: []} for name in SECURITY],
    }
