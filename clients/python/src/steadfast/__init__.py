"""steadfast: a client for the workflow engine's HTTP API (``steadfast serve``).

Standard library only. See ``Client`` (submit and follow runs) and ``Worker``
(carry out ``task`` steps in Python over the worker protocol).
"""

from steadfast.client import TERMINAL_STATUSES, Client
from steadfast.errors import SteadfastError
from steadfast.worker import Fatal, RateLimited, TaskContext, Worker

__all__ = ["Client", "SteadfastError", "TERMINAL_STATUSES", "Worker", "TaskContext", "Fatal", "RateLimited"]
