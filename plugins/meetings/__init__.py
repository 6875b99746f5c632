"""Meetings: MeetBot-compatible chairing, a crash-safe meeting log, minutes in every format."""
