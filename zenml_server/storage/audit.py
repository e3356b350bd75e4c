"""The audit trail: one row per security event.

``record`` runs inside the caller's transaction (the change and its row commit together or
not at all); ``record_many`` writes a batch of events that change nothing else (logins).
Listing is newest first with a keyset cursor on (created, id).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from zenml_server.domain.audit import Actor, AuditEvent, AuditQuery, Outcome
from zenml_server.storage.db import Connection, Database, Row

_COLUMNS = (
    "id, created, action, outcome, actor_kind, actor_id, actor_name, credential, "
    "target_kind, target_id, target_name, client_ip, request_id, detail"
)
_INSERT = (
    f"INSERT INTO audit_events ({_COLUMNS}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
)


def _args(event: AuditEvent) -> tuple[object, ...]:
    actor = event.actor
    return (
        event.id,
        event.created,
        event.action,
        event.outcome.value,
        actor.kind,
        actor.id,
        actor.name,
        actor.credential,
        event.target_kind,
        event.target_id,
        event.target_name,
        event.client_ip,
        event.request_id,
        json.dumps(event.detail, sort_keys=True),
    )


def _event(row: Row) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        created=float(row["created"]),
        action=row["action"],
        outcome=Outcome(row["outcome"]),
        actor=Actor(row["actor_kind"], row["actor_id"], row["actor_name"], row["credential"]),
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        target_name=row["target_name"],
        client_ip=row["client_ip"],
        request_id=row["request_id"],
        detail=json.loads(row["detail"] or "{}"),
    )


async def record_in(
    conn: Connection, event: AuditEvent | None, target_id: str | None = None
) -> None:
    """Write ``event`` (if any) in the caller's transaction; ``target_id`` fills in the id of
    a target made by that transaction."""
    if event is None:
        return
    if target_id is not None and event.target_id is None:
        event = replace(event, target_id=target_id)
    await conn.execute(_INSERT, *_args(event))


class AuditStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def record(conn: Connection, event: AuditEvent) -> None:
        """Insert ``event`` inside the caller's transaction."""
        await conn.execute(_INSERT, *_args(event))

    async def record_many(self, events: Sequence[AuditEvent]) -> None:
        """Insert a batch of events in one transaction."""
        async with self._db.transaction() as conn:
            for event in events:
                await conn.execute(_INSERT, *_args(event))

    async def list(
        self, query: AuditQuery, *, after: tuple[float, str] | None, limit: int
    ) -> list[AuditEvent]:
        """Up to ``limit`` events matching ``query``, newest first, older than the cursor
        ``after`` (created, id) when given."""
        where, args = [], []

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        if query.actor is not None:
            p = arg(query.actor)
            where.append(f"(actor_id = {p} OR actor_name = {p})")
        if query.action is not None:
            if query.action.endswith("."):
                where.append(f"substr(action, 1, {len(query.action)}) = {arg(query.action)}")
            else:
                where.append(f"action = {arg(query.action)}")
        if query.target is not None:
            p = arg(query.target)
            where.append(f"(target_id = {p} OR target_name = {p})")
        if query.since is not None:
            where.append(f"created >= {arg(query.since)}")
        if query.until is not None:
            where.append(f"created < {arg(query.until)}")
        if after is not None:
            created, last_id = after
            c, i = arg(created), arg(last_id)
            where.append(f"(created < {c} OR (created = {c} AND id < {i}))")
        sql = f"SELECT {_COLUMNS} FROM audit_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY created DESC, id DESC LIMIT {arg(limit)}"
        return [_event(r) for r in await self._db.fetch(sql, *args)]

    async def prune(self, before: float) -> int:
        """Delete events older than ``before``; return how many."""
        return await self._db.execute("DELETE FROM audit_events WHERE created < $1", before)
