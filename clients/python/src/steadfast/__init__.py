"""steadfast: a client for the workflow engine's HTTP API (``steadfast serve``).

Standard library only. See ``Client``.
"""

from steadfast.client import TERMINAL_STATUSES, Client
from steadfast.errors import SteadfastError

__all__ = ["Client", "SteadfastError", "TERMINAL_STATUSES"]
