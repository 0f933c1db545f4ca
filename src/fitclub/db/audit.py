"""The audit log: written in the transaction of the action it records."""

from __future__ import annotations

from typing import Any

from psycopg2.extras import Json

from fitclub.db import rows


def record(conn, *, actor_id: int | None, action: str, entity: str,
           entity_id: int | None = None, details: dict[str, Any] | None = None) -> None:
    """One audit row: who (a member id, None for the system), what, on what."""
    rows.execute(conn, "audit.record", {"actor_id": actor_id, "action": action,
                                        "entity": entity, "entity_id": entity_id,
                                        "details": Json(details or {})})
