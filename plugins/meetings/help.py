"""What ``!help`` says of the meeting commands (``#startmeeting`` and the rest), which are not
the router's commands but the meeting engine's: the same words for ``!help meetings`` and
``!help startmeeting``."""

from __future__ import annotations

from .engine import ANYONE_COMMANDS, CHAIR_COMMANDS

USAGE = {
    "startmeeting": (
        "[NAME]",
        "start a meeting here, named NAME (else after the room); you chair it",
    ),
    "endmeeting": ("", "end the meeting and write the minutes; anyone may once it is overdue"),
    "topic": ("TITLE", "a new topic (#topic next: the agenda's next item)"),
    "meetingtopic": ("TEXT", "the meeting's topic, shown with each topic"),
    "meetingname": ("NAME", "rename the meeting (its folder and URL)"),
    "chair": ("NICK...", "add chairs (commas or spaces between nicks)"),
    "unchair": ("NICK...", "remove chairs"),
    "info": ("TEXT", "a piece of information for the minutes"),
    "idea": ("TEXT", "an idea for the minutes"),
    "help": ("TEXT", "a call for help in the minutes"),
    "halp": ("TEXT", "a call for help in the minutes"),
    "link": ("URL [TEXT]", "a link for the minutes (a bare URL at a line's start is one too)"),
    "action": ("TEXT", "an action item; everyone it names owns it"),
    "agreed": ("TEXT", "an agreement"),
    "agree": ("TEXT", "an agreement"),
    "accepted": ("TEXT", "something accepted"),
    "accept": ("TEXT", "something accepted"),
    "rejected": ("TEXT", "something rejected"),
    "reject": ("TEXT", "something rejected"),
    "failed": ("TEXT", "something that failed"),
    "inconclusive": ("TEXT", "something left open"),
    "nick": ("NICK...", "make people known for action items before they speak"),
    "here": ("[ALIAS]", "say you are here (and another name you own actions by)"),
    "undo": ("", "remove the last item from the minutes"),
    "save": ("", "write the minutes so far"),
    "startvote": ("QUESTION? A, B, C", "open a vote (default options: Yes, No)"),
    "vote": ("OPTION", "vote (only your last vote counts)"),
    "showvote": ("", "the votes so far"),
    "endvote": ("", "close the vote; its result goes in the minutes"),
    "motion": ("TEXT", "a motion to vote on with #vote +1, 0 or -1"),
    "close": ("", "close the motion"),
    "lurk": ("", "the bot records but says nothing"),
    "unlurk": ("", "the bot answers again"),
    "restrictlogs": ("", "keep this meeting's logs private"),
    "commands": ("", "list the meeting commands"),
    "actions": ("", "the action items so far"),
}


ALIASES = {"agree": "agreed", "accept": "accepted", "reject": "rejected", "halp": "help"}
"""Other spellings MeetBot takes, left out of the overview."""


def command_help(name: str) -> str | None:
    """``#startmeeting [NAME] — start a meeting here ... (anyone)`` for a meeting command."""
    if name not in USAGE:
        return None
    usage, text = USAGE[name]
    who = "chairs and room moderators" if name in CHAIR_COMMANDS else "anyone"
    return f"#{name} {usage}".rstrip() + f" — {text} ({who})."


def overview(prefix: str) -> str:
    """Every meeting command, by who may use them, and the chat commands beside them."""

    def listed(names: set[str]) -> str:
        shown = sorted(n for n in names if n in USAGE and n not in ALIASES)
        return ", ".join(f"#{n} {USAGE[n][0]}".rstrip() for n in shown)

    return (
        f"Meetings, as MeetBot runs them. Anyone: {listed(ANYONE_COMMANDS)}. "
        f"Chairs: {listed(CHAIR_COMMANDS)}. In chat: {prefix}minutes [NAME] [DATE], "
        f"{prefix}actions [NICK|MEETING], {prefix}done ID. "
        f"Say {prefix}help startmeeting (or any of them) for more."
    )
