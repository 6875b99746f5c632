"""The IRC transport (see :mod:`.transport`)."""

from .bucket import TokenBucket
from .state import Member
from .text import split_utf8, strip_formatting
from .transport import IrcTransport

__all__ = ["IrcTransport", "Member", "TokenBucket", "split_utf8", "strip_formatting"]
