"""Microsoft Teams: botbuilder CloudAdapter + handler, Adaptive Card renderer, outbox sender,
app package builder. The only package allowed to import ``botbuilder`` (archived upstream), so a
move to its successor touches this folder alone."""

from adapters.teams.app import build_teams, mount_teams
from adapters.teams.package import build_package
from adapters.teams.refs import uow_readers_lookup, uow_ref_lookup
from adapters.teams.sender import TeamsSender
from adapters.teams.settings import TeamsSettings

__all__ = [
    "TeamsSender",
    "TeamsSettings",
    "build_package",
    "build_teams",
    "mount_teams",
    "uow_readers_lookup",
    "uow_ref_lookup",
]
