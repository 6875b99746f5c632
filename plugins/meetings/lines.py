"""Chat events as meeting log lines: the one place that knows how each event is logged."""

from __future__ import annotations

from sys import intern

from opsbot.events import Edit, Event, Join, Message, NickChange, Part, Redaction, account_in

from .engine import Line, LineKind


def lines_of(event: Event, *, own: bool = False) -> list[Line]:
    """The log lines an event becomes; a multi-line message is one line per line (Matrix)."""
    if isinstance(event, Message):
        kind: LineKind = "action" if event.is_action else "notice" if event.is_notice else "message"
        texts = event.text.split("\n") if event.text else [""]
        account = account_in(event.room.network, event.sender)
        display = event.sender.display
        return [
            Line(
                ts=event.ts,
                nick=intern(event.sender.nick),  # a meeting keeps every line: one copy of each name
                text=text,
                kind=kind,
                account=intern(account) if account is not None else None,
                display=intern(display) if display is not None else None,
                is_bot=own,
                msg_id=event.id if i == 0 or event.id is None else f"{event.id}#{i}",
            )
            for i, text in enumerate(texts)
        ]
    if isinstance(event, Join):
        account = account_in(event.room.network, event.who)
        return [Line(ts=event.ts, nick=event.who.nick, kind="join", account=account)]
    if isinstance(event, Part):
        kind = "quit" if event.is_quit else "part"
        return [
            Line(
                ts=event.ts,
                nick=event.who.nick,
                text=event.reason or "",
                kind=kind,
                account=account_in(event.room.network, event.who),
            )
        ]
    if isinstance(event, NickChange):
        return [
            Line(
                ts=event.ts,
                nick=event.old.nick,
                text=event.new.nick,
                kind="nick",
                account=event.new.account,
            )
        ]
    if isinstance(event, Edit | Redaction):
        text = event.text if isinstance(event, Edit) else event.reason or ""
        kind = "edit" if isinstance(event, Edit) else "redaction"
        return [
            Line(
                ts=event.ts,
                nick=event.sender.nick,
                text=text,
                kind=kind,
                account=account_in(event.room.network, event.sender),
                msg_id=event.id,
                target_id=event.target_id,
            )
        ]
    return []
