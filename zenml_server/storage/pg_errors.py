"""Which asyncpg errors mean "the database is unavailable" (503, try again) rather than a bug.

A restart, a failover or an overloaded server shows up in many shapes: a refused or reset
socket, a connection the restart left half-broken (asyncpg's InternalClientError "cannot switch
to state …; another operation is in progress"), the server refusing new connections
(TooManyConnectionsError, CannotConnectNowError), cancelling or ending sessions
(QueryCanceledError, AdminShutdownError, CrashShutdownError), or a standby still read-only
after a failover (ReadOnlySQLTransactionError). All of them are ``StorageUnavailable``; the
connection they happened on is not trusted again.
"""

from __future__ import annotations

import asyncio

import asyncpg
from asyncpg.exceptions import _base

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    asyncio.TimeoutError,
    asyncpg.InterfaceError,  # "connection is closed", "another operation is in progress"
    asyncpg.InternalClientError,  # protocol state broken by a dropped connection
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, disk full, memory
    asyncpg.OperatorInterventionError,  # class 57: cancelled, shut down, cannot connect now
    asyncpg.ReadOnlySQLTransactionError,  # 25006: a standby, or a primary being demoted
    asyncpg.exceptions.PostgresSystemError,  # class 58: I/O error on the server
)
# Client-side mistakes that asyncpg files under InterfaceError: bugs or bad input, not outages.
_NOT_UNAVAILABLE: tuple[type[BaseException], ...] = (
    _base.DataError,
    _base.ClientConfigurationError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
    asyncpg.exceptions.UnsupportedServerFeatureError,
)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot serve now (and may later)."""
    return isinstance(exc, _UNAVAILABLE) and not isinstance(exc, _NOT_UNAVAILABLE)
