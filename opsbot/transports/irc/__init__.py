"""The IRC transport (see :mod:`.transport`)."""

from .members import Member
from .pacing import TokenBucket
from .text import split_utf8, strip_formatting
from .transport import IrcTransport

__all__ = ["IrcTransport", "Member", "TokenBucket", "split_utf8", "strip_formatting"]
