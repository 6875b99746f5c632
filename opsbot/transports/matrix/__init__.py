"""The Matrix transport (see :mod:`.transport`)."""

from .ids import RecentIds, localpart
from .transport import MatrixTransport

__all__ = ["MatrixTransport", "RecentIds", "localpart"]
