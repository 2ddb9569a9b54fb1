"""One declaration per command: the words that run it, its usage, summary and example, its
parser, who may run it (from the permission table) and its handler, in one place (issue #14).

Everything else is derived from :data:`DECLARATIONS`, so nothing has to be kept in step: the
word table :func:`bot.grammar.parse` reads, ``help`` and ``help <command>``, and the handler
``Core`` runs for a command. Adding a command is its dataclass (bot.commands), its parser
(bot.parsers), its handler (bot.handlers) and one :func:`declare` here. ``help``'s own parser and
handler live here because they read the list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Generic, TypeVar

from bot import commands as c
from bot import parsers as p
from bot.context import Reply
from bot.errors import UsageError
from bot.handlers import items, org, people, projects
from bot.handlers.context import Ctx
from bot.messages import Message
from bot.permissions import TABLE, Action, Party
from bot.words import Words, shown

__all__ = [
    "BY_NAME",
    "DECLARATIONS",
    "FIRST_WORDS",
    "HELP",
    "Declaration",
    "Syntax",
    "declare",
    "help_for",
    "run_command",
    "unknown",
    "usage",
]

C = TypeVar("C")
"""A command's type (bot.commands)."""


@dataclass(frozen=True, kw_only=True)
class Syntax:
    """One way of writing a command, one line of ``help``."""

    names: tuple[str, ...]
    """What a user types to run it (several for ``project pause|resume|close``); the parser sees
    which one as ``Words.name``."""
    usage: str
    summary: str
    example: str
    """Runs against the demo organization on any day (tests/scenario/test_help_examples.py)."""
    parse: p.Parser
    permission: tuple[Action, ...] = ()
    """The rows of the permission table its handler asks; none: anyone in the organization."""


@dataclass(frozen=True, kw_only=True)
class Declaration(Generic[C]):
    """A command: its type, its handler, and the syntax that produces it."""

    command: type[C]
    handler: Callable[[Ctx, C], Awaitable[Reply]]
    syntax: tuple[Syntax, ...]


def declare(
    command: type[C], handler: Callable[[Ctx, C], Awaitable[Reply]], *syntax: Syntax
) -> Declaration[Any]:
    """A declaration whose handler mypy has checked against its command type."""
    return Declaration(command=command, handler=handler, syntax=syntax)


def _parse_help(words: Words) -> c.HelpCmd:
    topic = " ".join(words.tokens).lower() or None
    if topic is not None:
        _syntax_for(topic)  # refuses an unknown topic, with a suggestion
    return c.HelpCmd(topic=topic)


async def _on_help(ctx: Ctx, cmd: c.HelpCmd) -> Reply:
    if cmd.topic:
        return Reply(
            messages=(Message(title=f"help {cmd.topic}", sections=(help_for(cmd.topic),)),)
        )
    return Reply(messages=(Message(title="Leaderbot commands", sections=(HELP,)),))


DECLARATIONS: tuple[Declaration[Any], ...] = (
    declare(
        c.AskCmd,
        items.on_ask,
        Syntax(
            names=("ask",),
            usage="ask [@person] <text> [by <date>] [#PROJECT] [area:<word>]",
            summary="Ask a leader for a decision; it goes to the Accountable per the RACI",
            example="ask approve 0.5 FTE for the pilot by fri #SEPSIS area:staffing",
            parse=p.ask,
        ),
    ),
    declare(
        c.BlockerCmd,
        items.on_blocker,
        Syntax(
            names=("blocker",),
            usage="blocker <text> [#PROJECT] [area:<word>] [severity:low|medium|high|critical]",
            summary="Raise a blocker; it climbs the escalation ladder until it is resolved",
            example="blocker lab IT access blocked for 2 weeks #SEPSIS area:it severity:high",
            parse=p.blocker,
        ),
    ),
    declare(
        c.UpdateCmd,
        projects.on_update,
        Syntax(
            names=("update",),
            usage="update [#PROJECT] [rag:red|amber|green] <progress> [next: <next steps>]",
            summary="Post this week's project update",
            example="update #SEPSIS rag:amber screening at 78% next: train the night staff",
            parse=p.update,
            permission=(Action.POST_UPDATE,),
        ),
    ),
    declare(
        c.StatusCmd,
        projects.on_status,
        Syntax(
            names=("status",),
            usage="status [#PROJECT]",
            summary="The project at a glance",
            example="status #SEPSIS",
            parse=p.status,
        ),
    ),
    declare(
        c.AsksCmd,
        items.on_asks,
        Syntax(
            names=("asks",),
            usage="asks [all]",
            summary="What waits on you, and what you wait for (all: every item, not the first 10)",
            example="asks",
            parse=p.asks,
        ),
    ),
    declare(
        c.DigestCmd,
        people.on_digest,
        Syntax(
            names=("digest",),
            usage="digest",
            summary="Preview your digest now",
            example="digest",
            parse=p.nothing(c.DigestCmd),
        ),
    ),
    declare(
        c.DashboardCmd,
        people.on_dashboard,
        Syntax(
            names=("dashboard",),
            usage="dashboard",
            summary="A personal link to the dashboard, valid for 7 days",
            example="dashboard",
            parse=p.nothing(c.DashboardCmd),
        ),
    ),
    declare(
        c.DecideCmd,
        items.on_decide,
        Syntax(
            names=("approve",),
            usage="approve <ask id> [rationale]",
            summary="Approve an ask",
            example="approve 1 fine within this year's budget",
            parse=p.decide("approve", None),
            permission=(Action.DECIDE_ASK,),
        ),
        Syntax(
            names=("decline",),
            usage="decline <ask id> <rationale>",
            summary="Decline an ask, saying why",
            example="decline 1 no budget until April",
            parse=p.decide("decline", "Please give a reason when you decline."),
            permission=(Action.DECIDE_ASK,),
        ),
        Syntax(
            names=("info",),
            usage="info <ask id> <question>",
            summary="Ask the requester for more information",
            example="info 1 which wards would this cover?",
            parse=p.decide("info", "What do you need to know?"),
            permission=(Action.DECIDE_ASK,),
        ),
    ),
    declare(
        c.AnswerCmd,
        items.on_answer,
        Syntax(
            names=("answer",),
            usage="answer <ask id> <answer>",
            summary="Answer the question a decider asked about your ask; it goes back to them",
            example="answer 1 the AMU's 28 beds, from January",
            parse=p.answer,
            permission=(Action.ANSWER_ASK,),
        ),
    ),
    declare(
        c.WithdrawCmd,
        items.on_withdraw,
        Syntax(
            names=("withdraw",),
            usage="withdraw ask|blocker <id>",
            summary="Withdraw your own ask or blocker",
            example="withdraw ask 1",
            parse=p.withdraw,
            permission=(
                Action.WITHDRAW_ASK,
                Action.WITHDRAW_BLOCKER,
            ),
        ),
    ),
    declare(
        c.BlockerActCmd,
        items.on_blocker_act,
        Syntax(
            names=("ack",),
            usage="ack <blocker id> [note]",
            summary="Acknowledge a blocker: it stops the clock of your rung",
            example="ack 1 on it today",
            parse=p.blocker_act("ack", None),
            permission=(Action.ACK_BLOCKER,),
        ),
        Syntax(
            names=("resolve",),
            usage="resolve <blocker id> <how it was resolved>",
            summary="Resolve a blocker; it goes into the decision log",
            example="resolve 1 IT granted access to the lab system",
            parse=p.blocker_act("resolve", "How was it resolved? It goes into the decision log."),
            permission=(Action.RESOLVE_BLOCKER,),
        ),
    ),
    declare(
        c.DecisionsCmd,
        projects.on_decisions,
        Syntax(
            names=("decisions",),
            usage="decisions [#PROJECT]",
            summary="The project's decision log",
            example="decisions #SEPSIS",
            parse=p.decisions,
        ),
    ),
    declare(
        c.RaciShowCmd,
        projects.on_raci_show,
        Syntax(
            names=("raci",),
            usage="raci [#PROJECT]",
            summary="Show the project's RACI matrix",
            example="raci #SEPSIS",
            parse=p.raci,
        ),
    ),
    declare(
        c.RaciSetCmd,
        projects.on_raci_set,
        Syntax(
            names=("raci set",),
            usage="raci set @person A|R|C|I <area|*>[!] [#PROJECT]",
            summary="Give someone a RACI letter for an area (* = the default; end a new area's "
            "name with ! to create it)",
            example="raci set @raj A staffing #SEPSIS",
            parse=p.raci_set,
            permission=(Action.SET_RACI,),
        ),
    ),
    declare(
        c.RoleCmd,
        projects.on_role,
        Syntax(
            names=("role",),
            usage="role @person sponsor|champion|influencer|resistor|lead|member [#PROJECT] [note]",
            summary="Record a stakeholder's role on a project",
            example="role @eve champion #SEPSIS executive support for patient flow",
            parse=p.role,
            permission=(Action.SET_ROLES,),
        ),
    ),
    declare(
        c.WhoCmd,
        projects.on_who,
        Syntax(
            names=("who",),
            usage="who [@person]",
            summary="A person's roles and RACI letters (yours without @person)",
            example="who @dana",
            parse=p.who,
        ),
    ),
    declare(
        c.ProjectNewCmd,
        projects.on_project_new,
        Syntax(
            names=("project new",),
            usage="project new KEY <name>",
            summary="Create a project; you become its lead",
            example="project new STROKE Stroke thrombolysis within the hour",
            parse=p.project_new,
        ),
    ),
    declare(
        c.ProjectShowCmd,
        projects.on_project_show,
        Syntax(
            names=("project show",),
            usage="project show [#KEY]",
            summary="The project's charter and stakeholders",
            example="project show #SEPSIS",
            parse=p.project_show,
        ),
    ),
    declare(
        c.ProjectCharterCmd,
        projects.on_project_charter,
        Syntax(
            names=("project charter",),
            usage="project charter [#KEY] aim|scope|measures|priority <text>",
            summary="Set a part of the project's charter",
            example="project charter #SEPSIS aim 90% of patients screened within 1 hour",
            parse=p.project_charter,
            permission=(Action.EDIT_CHARTER,),
        ),
    ),
    declare(
        c.ProjectChannelCmd,
        projects.on_project_channel,
        Syntax(
            names=("project channel",),
            usage="project channel [#KEY]",
            summary="Make this channel the project's home",
            example="project channel #SEPSIS",
            parse=p.project_channel,
            permission=(Action.LINK_CHANNEL,),
        ),
    ),
    declare(
        c.ProjectStatusCmd,
        projects.on_project_status,
        Syntax(
            names=("project pause", "project resume", "project close"),
            usage="project pause|resume|close [#KEY]",
            summary="Pause, resume or close a project",
            example="project pause #SEPSIS",
            parse=p.project_status,
            permission=(Action.SET_STATUS,),
        ),
    ),
    declare(
        c.KpiListCmd,
        projects.on_kpi_list,
        Syntax(
            names=("kpi", "kpi list"),
            usage="kpi [#PROJECT]",
            summary="The project's KPIs and their latest values",
            example="kpi #SEPSIS",
            parse=p.kpi_list,
        ),
    ),
    declare(
        c.KpiAddCmd,
        projects.on_kpi_add,
        Syntax(
            names=("kpi add",),
            usage="kpi add <name> [unit:<unit>] [higher|lower] [target:N] [warn:N] [alert:N] "
            "[#PROJECT]",
            summary="Add a KPI with its thresholds (quote a name that ends in higher or lower)",
            example="kpi add screened within 1h unit:% higher target:90 warn:80 alert:70 #SEPSIS",
            parse=p.kpi_add,
            permission=(Action.EDIT_KPIS,),
        ),
    ),
    declare(
        c.KpiRecordCmd,
        projects.on_kpi_record,
        Syntax(
            names=("kpi record",),
            usage="kpi record <name> <value> [on <date>] [#PROJECT]",
            summary="Record a KPI value (today unless you say on <date>)",
            example="kpi record Time to antibiotics 72 on mon #SEPSIS",
            parse=p.kpi_record,
            permission=(Action.EDIT_KPIS,),
        ),
    ),
    declare(
        c.CadenceCmd,
        people.on_cadence,
        Syntax(
            names=("cadence",),
            usage="cadence [weekly|biweekly|daily|off] [<weekday> <HH:MM>] [concise|detailed]",
            summary="Show or change when your digest comes and how long it is",
            example="cadence weekly mon 08:30 concise",
            parse=p.cadence,
        ),
    ),
    declare(
        c.DelegateCmd,
        people.on_delegate,
        Syntax(
            names=("delegate",),
            usage="delegate @person until <date> · delegate off",
            summary="Let someone decide your asks while you are away",
            example="delegate @ben until next fri",
            parse=p.delegate,
        ),
    ),
    declare(
        c.HandoverCmd,
        people.on_handover,
        Syntax(
            names=("handover",),
            usage="handover @from @to [#PROJECT]",
            summary="Pass someone's roles, RACI letters and open items to their successor",
            example="handover @raj @ben #SEPSIS",
            parse=p.handover,
            permission=(Action.HANDOVER,),
        ),
    ),
    declare(
        c.MeTimezoneCmd,
        org.on_me_timezone,
        Syntax(
            names=("me timezone",),
            usage="me timezone <IANA zone>",
            summary="Set your time zone: your working hours, digests and dates follow it",
            example="me timezone Europe/Berlin",
            parse=p.me_timezone,
        ),
    ),
    declare(
        c.MeHoursCmd,
        org.on_me_hours,
        Syntax(
            names=("me hours",),
            usage="me hours <HH:MM>-<HH:MM>",
            summary="Set your working hours: messages that can wait, wait for them",
            example="me hours 08:00-18:00",
            parse=p.me_hours,
        ),
    ),
    declare(
        c.MeLinkCmd,
        org.on_me_link,
        Syntax(
            names=("me link",),
            usage="me link [CODE]",
            summary="Get a one-time code, then type me link CODE on your other platform to join "
            "both identities",
            example="me link",
            parse=p.me_link,
        ),
    ),
    declare(
        c.OrgShowCmd,
        org.on_org_show,
        Syntax(
            names=("org show",),
            usage="org show",
            summary="Your organization's workspaces, admins and executive",
            example="org show",
            parse=p.nothing(c.OrgShowCmd),
        ),
    ),
    declare(
        c.OrgInviteCmd,
        org.on_org_invite,
        Syntax(
            names=("org invite",),
            usage="org invite",
            summary="Admins: a one-time code (24 hours) for a partner's workspace to join",
            example="org invite",
            parse=p.nothing(c.OrgInviteCmd),
            permission=(Action.ORG_INVITE,),
        ),
    ),
    declare(
        c.OrgJoinCmd,
        org.on_org_join,
        Syntax(
            names=("org join",),
            usage="org join CODE",
            summary="A partner's admin: join your workspace to the organization that invited it",
            example="org join K7QM-2XPA-9RTD-4WHB",
            parse=p.org_join,
            permission=(Action.ORG_JOIN,),
        ),
    ),
    declare(
        c.OrgAdminCmd,
        org.on_org_admin,
        Syntax(
            names=("org admin",),
            usage="org admin add|remove @person",
            summary="Admins: name or remove an admin (never the last one)",
            example="org admin add @dana",
            parse=p.org_admin,
            permission=(Action.ORG_ADMINS,),
        ),
    ),
    declare(
        c.OrgExecutiveCmd,
        org.on_org_executive,
        Syntax(
            names=("org executive",),
            usage="org executive @person",
            summary="Admins: who unresolved blockers reach at the top of the ladder",
            example="org executive @eve",
            parse=p.org_executive,
            permission=(Action.ORG_EXECUTIVE,),
        ),
    ),
    declare(
        c.OrgNameCmd,
        org.on_org_name,
        Syntax(
            names=("org name",),
            usage="org name <text>",
            summary="Admins: rename the organization",
            example="org name St Mary's Hospital",
            parse=p.org_name,
            permission=(Action.ORG_NAME,),
        ),
    ),
    declare(
        c.HelpCmd,
        _on_help,
        Syntax(
            names=("help",),
            usage="help [command]",
            summary="This list, or one command's usage, who may run it and an example",
            example="help ask",
            parse=_parse_help,
        ),
    ),
)
"""Every command, in the order ``help`` lists them."""

_SYNTAX = tuple(syntax for declaration in DECLARATIONS for syntax in declaration.syntax)
BY_NAME: Mapping[str, Syntax] = {name: syntax for syntax in _SYNTAX for name in syntax.names}
"""What a user types (``raci set``) → how it is written and parsed: the parser's word table."""
FIRST_WORDS = tuple(dict.fromkeys(name.split()[0] for name in BY_NAME))
"""The first words of every command, in help order: what an unknown command is compared to."""
_HANDLERS: Mapping[type, Callable[[Ctx, Any], Awaitable[Reply]]] = {
    declaration.command: declaration.handler for declaration in DECLARATIONS
}

HELP = "\n".join(f"{syntax.usage} — {syntax.summary}" for syntax in _SYNTAX)
"""Every command, one per line, with a short description: the answer to ``help``."""


async def run_command(ctx: Ctx, command: c.Command) -> Reply:
    """Run ``command`` with its declared handler."""
    return await _HANDLERS[type(command)](ctx, command)


def _syntax_for(name: str) -> list[Syntax]:
    """What ``name`` stands for: every command starting with a first word (``raci`` and
    ``raci set``), or one command (``raci set``)."""
    name = " ".join(name.lower().split())
    group = [syntax for syntax in _SYNTAX if syntax.names[0].split()[0] == name]
    if group:
        return group
    if name in BY_NAME:
        return [BY_NAME[name]]
    raise unknown(name)


def usage(command_name: str) -> str:
    """The usage line of a command (``ask``, ``project new``); a first word shared by several
    (``project``) gives each of their lines. Raises UsageError for an unknown command."""
    return "\n".join(syntax.usage for syntax in _syntax_for(command_name))


def help_for(command_name: str) -> str:
    """What ``help <command>`` shows: usage, what it does, who may run it, and an example."""
    return "\n\n".join(
        f"{syntax.usage}\n{syntax.summary}.\nWho may: {_who_may(syntax.permission)}."
        f"\nExample: {syntax.example}"
        for syntax in _syntax_for(command_name)
    )


def _who_may(permission: tuple[Action, ...]) -> str:
    """Who may run a command, in the permission table's words (``lead, sponsor or admin``)."""
    if not permission:
        return Party.MEMBER.value
    allowed = {party for action in permission for party in TABLE[action].allowed}
    never = {party for action in permission for party in TABLE[action].never}
    names = [party.value for party in Party if party in allowed]
    said = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    excluded = " or ".join(f"the {party.value}" for party in Party if party in never)
    return f"{said} (never {excluded})" if excluded else said


def unknown(word: str) -> UsageError:
    """The refusal of a command nobody declared, with the closest one when there is one."""
    close = get_close_matches(word, FIRST_WORDS, n=1)
    tip = f" Did you mean '{close[0]}'?" if close else ""
    return UsageError(
        f"I don't know the command '{shown(word)}'.{tip}",
        hint=f"Commands: {', '.join(FIRST_WORDS)}. Type help for what each does.",
    )
