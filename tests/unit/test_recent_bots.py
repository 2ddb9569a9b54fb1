"""RecentBots: a workspace's bot is found in slack_sdk's store once per ``ttl``, a save or a delete
through it is seen at once, a workspace not installed is never remembered."""

from __future__ import annotations

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from adapters.slack.tokens import RecentBots


class Store(AsyncInstallationStore):
    """slack_sdk's store as far as RecentBots sees it: bots by team, and how often it was asked."""

    def __init__(self) -> None:
        self.bots: dict[str, Bot] = {}
        self.finds = 0

    async def async_save(self, installation: Installation) -> None:
        self.bots[str(installation.team_id)] = installation.to_bot()

    async def async_save_bot(self, bot: Bot) -> None:
        self.bots[str(bot.team_id)] = bot

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        self.finds += 1
        return self.bots.get(str(team_id))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.bots.pop(str(team_id), None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def bot(team: str, token: str) -> Bot:
    return Bot(team_id=team, bot_token=token, bot_id="B1", bot_user_id="UB1", installed_at=1.0)


async def token(bots: RecentBots, team: str) -> str | None:
    found = await bots.async_find_bot(enterprise_id=None, team_id=team)
    return found.bot_token if found is not None else None


async def test_a_bot_found_is_kept_for_its_time_then_looked_for_again() -> None:
    store, clock = Store(), Clock()
    store.bots["T1"] = bot("T1", "xoxb-1")
    bots = RecentBots(store, ttl=30, clock=clock)
    assert [await token(bots, "T1") for _ in range(3)] == ["xoxb-1"] * 3
    assert store.finds == 1
    store.bots["T1"] = bot("T1", "xoxb-2")  # another process reinstalled
    clock.now += 29.9
    assert await token(bots, "T1") == "xoxb-1" and store.finds == 1
    clock.now += 0.2
    assert await token(bots, "T1") == "xoxb-2" and store.finds == 2


async def test_a_workspace_not_installed_is_asked_again_each_time() -> None:
    store = Store()
    bots = RecentBots(store, clock=Clock())
    assert await token(bots, "T9") is None
    store.bots["T9"] = bot("T9", "xoxb-9")  # installed in another process
    assert await token(bots, "T9") == "xoxb-9" and store.finds == 2


async def test_saves_deletes_and_forget_through_it_are_seen_at_once() -> None:
    store = Store()
    bots = RecentBots(store, clock=Clock())
    await bots.async_save_bot(bot("T1", "xoxb-1"))
    assert await token(bots, "T1") == "xoxb-1"
    await bots.async_save(Installation(user_id="U1", team_id="T1", bot_token="xoxb-2"))
    assert await token(bots, "T1") == "xoxb-2"
    await bots.async_delete_bot(enterprise_id=None, team_id="T1")
    assert await token(bots, "T1") is None
    store.bots["T1"] = bot("T1", "xoxb-3")
    assert await token(bots, "T1") == "xoxb-3"
    store.bots["T1"] = bot("T1", "xoxb-4")
    bots.forget(enterprise_id=None, team_id="T1")
    assert await token(bots, "T1") == "xoxb-4" and store.finds == 5


async def test_at_most_held_bots_are_kept_the_first_found_forgotten_first() -> None:
    store = Store()
    for team in ("T1", "T2", "T3"):
        store.bots[team] = bot(team, f"xoxb-{team}")
    bots = RecentBots(store, held=2, clock=Clock())
    for team in ("T1", "T2", "T3"):
        await token(bots, team)
    await token(bots, "T2")
    await token(bots, "T3")
    assert store.finds == 3  # T2 and T3 held
    await token(bots, "T1")
    assert store.finds == 4  # T1, the oldest found, was forgotten
