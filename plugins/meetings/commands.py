"""The meetings plugin's chat commands: ``!actions``, ``!done`` and ``!minutes`` (a part of the
plugin, mixed into it: they read the archive and close action items, nothing of a meeting in
progress)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from opsbot.domain import ActionItemClosed
from opsbot.events import DomainEvent, Room
from opsbot.plugin import Context, command
from opsbot.text import shorten

from .files import links
from .settings import MeetingsConfig, MeetingSettings
from .store import MeetingStore


class MeetingCommands:
    store: MeetingStore
    settings: MeetingSettings

    if TYPE_CHECKING:

        @property
        def timezone(self) -> tzinfo: ...

        def config_for(self, room: Room | None) -> MeetingsConfig: ...

        async def emit(self, event: DomainEvent) -> None: ...

    @command(
        "actions", usage="[NICK|MEETING]", help="Open action items: someone's, or a meeting's."
    )
    async def actions(self, ctx: Context, who_or_meeting: str | None = None) -> None:
        store = self.store
        found = await store.open_actions(limit=200)
        if who_or_meeting:
            by_meeting = [a for a in found if a.meeting_name == who_or_meeting.lower()]
            found = by_meeting or [
                a for a in found if who_or_meeting.casefold() in (o.casefold() for o in a.owners)
            ]
        if not found:
            whose = f" for {who_or_meeting}" if who_or_meeting else ""
            await ctx.reply(f"No open action items{whose}.")
            return
        shown = "; ".join(
            f"({a.id}) {a.text} [{a.meeting_name} {a.started_at:%Y-%m-%d}]" for a in found[:10]
        )
        more = f" … and {len(found) - 10} more." if len(found) > 10 else ""
        await ctx.reply(f"Open action items: {shown}{more}")

    @command(
        "done",
        usage="ID",
        help="Close an action item: its owners, its meeting's chairs or a room moderator.",
    )
    async def done(self, ctx: Context, action_id: int) -> None:
        found = await self.store.action(action_id)
        if found is None:
            await ctx.reply(f"There is no action item {action_id}.")
            return
        action, meeting = found
        if action.state != "open":
            await ctx.reply(f"Action item {action_id} was already closed by {action.done_by}.")
            return
        accounts = await self.store.accounts_in(meeting.id)
        owners = tuple((nick, accounts.get(nick.casefold())) for nick in action.owners)
        sender = ctx.sender
        network = meeting.network
        chairs = list(
            dict.fromkeys([meeting.owner, *_listed((meeting.summary or {}).get("chairs"))])
        )
        allowed = (
            ctx.room.network == network
            and any(sender.is_seen_as(network, *owner) for owner in owners)
        ) or await ctx.chair_or_moderator(
            (str(chair), accounts.get(str(chair).casefold()))
            for chair in chairs
            if ctx.room.network == network
        )
        if not allowed:
            named = ", ".join(action.owners) or "nobody"
            await ctx.reply(
                f"Only an owner of action item {action_id} ({named}), a chair of its meeting "
                f"({', '.join(map(str, chairs))}) or a room moderator may close it."
            )
            return
        row = await self.store.close_action(action_id, sender.account or sender.nick, ctx.msg.ts)
        if row is None:
            await ctx.reply(f"There is no action item {action_id}.")
            return
        if row.done_at != ctx.msg.ts:  # closed by someone else a moment ago
            await ctx.reply(f"Action item {action_id} was already closed by {row.done_by}.")
            return
        await ctx.reply(f"Closed action item {action_id}: {row.text}")
        await self.emit(
            ActionItemClosed(
                meeting_id=meeting.id,
                network=network,
                room=meeting.room,
                meeting_name=meeting.name,
                action_id=action_id,
                text=row.text,
                owners=owners,
                closed_by=(sender.nick, sender.account),
                restricted=meeting.restricted,
            )
        )

    @command("minutes", usage="[NAME] [last|YYYY-MM-DD]", help="Links to a meeting's minutes.")
    async def minutes(self, ctx: Context, name: str | None = None, when: str | None = None) -> None:
        if name is not None and (name == "last" or _is_date(name)) and when is None:
            name, when = None, name
        day = None
        if when not in (None, "last"):
            if not _is_date(when):
                await ctx.reply(f"{when!r} is not a date; use YYYY-MM-DD or last.")
                return
            day = datetime.strptime(str(when), "%Y-%m-%d").date()
        if name is not None:
            rows = await self.store.meetings(name=name.lower())
        else:
            rows = await self.store.meetings(room=(ctx.room.network, ctx.room.id))
        rows = [
            r
            for r in rows
            if not r.restricted
            and (day is None or r.started_at.astimezone(self.timezone).date() == day)
        ]
        if not rows:
            what = f"'{shorten(name)}'" if name else "this room"
            on_day = f" on {day}" if day else ""
            await ctx.reply(f"No minutes for {what}{on_day}.")
            return
        # A day asked for: every meeting of it, in the order they were held (at most five).
        chosen = sorted(rows[:5], key=lambda r: r.started_at) if day is not None else rows[:1]
        config = self.config_for(ctx.room)
        for row in chosen:
            urls = links(row.base or "", self.settings.url_prefix(config))
            summary = row.summary or {}
            topics = ", ".join(str(t) for t in _listed(summary.get("topics"))) or "no topics"
            actions = len(_listed(summary.get("actions")))
            people = ", ".join(str(p) for p in list(_mapped(summary.get("people_present")))[:8])
            await ctx.reply(
                f"{row.name} {row.started_at.astimezone(self.timezone):%Y-%m-%d %H:%M}: "
                f"Minutes: {urls['.html']} | Log: {urls['.log.html']} — topics: {topics}; "
                f"{actions} action items; people: {people or 'nobody'}"
            )
        if day is not None and len(rows) > len(chosen):
            await ctx.reply(f"… and {len(rows) - len(chosen)} more that day.")


def _listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapped(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_date(text: str | None) -> bool:
    if text is None:
        return False
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True
