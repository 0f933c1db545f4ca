"""Conversation state in PostgreSQL, as a pyTelegramBotAPI state storage.

Inside a handler it uses the update's own transaction, so a state change commits (or rolls
back) together with the update's other effects; it survives restarts and is shared by every
instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions
from psycopg2.extras import Json
from telebot.storage.base_storage import StateDataContext, StateStorageBase

from fitclub.db.queries import Q
from fitclub.runtime.context import current_or_none


class PgStateStorage(StateStorageBase):
    """State storage backed by the conversation_state table."""

    def __init__(self, transaction: Callable[[], Any]) -> None:
        super().__init__()
        self._transaction = transaction  # used only outside a handler

    @contextmanager
    def _conn(self) -> Iterator[psycopg2.extensions.connection]:
        ctx = current_or_none()
        if ctx is not None:
            yield ctx.conn
        else:
            with self._transaction() as conn:
                yield conn

    @staticmethod
    def _key(chat_id: int, user_id: int, business_connection_id: str | None,
             message_thread_id: int | None, bot_id: int | None) -> dict[str, Any]:
        thread = f"{business_connection_id or ''}:{message_thread_id or ''}"
        return {"bot_id": bot_id or 0, "chat_id": chat_id, "user_id": user_id,
                "thread_key": "" if thread == ":" else thread}

    def set_state(self, chat_id, user_id, state, business_connection_id=None,
                  message_thread_id=None, bot_id=None) -> bool:
        if hasattr(state, "name"):
            state = state.name
        key = self._key(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(Q["state.set_state"], {**key, "state": state})
        return True

    def get_state(self, chat_id, user_id, business_connection_id=None,
                  message_thread_id=None, bot_id=None) -> str | None:
        row = self._get(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        return row[0] if row else None

    def delete_state(self, chat_id, user_id, business_connection_id=None,
                     message_thread_id=None, bot_id=None) -> bool:
        key = self._key(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(Q["state.delete"], key)
            return cur.rowcount > 0

    def set_data(self, chat_id, user_id, key, value, business_connection_id=None,
                 message_thread_id=None, bot_id=None) -> bool:
        k = self._key(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(Q["state.set_data"], {**k, "key": str(key), "value": Json(value)})
            if cur.rowcount == 0:
                # The memory storage refuses data without a state too; say so plainly.
                raise RuntimeError(f"no conversation state for chat {chat_id} user {user_id}")
        return True

    def get_data(self, chat_id, user_id, business_connection_id=None,
                 message_thread_id=None, bot_id=None) -> dict:
        row = self._get(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        return dict(row[1]) if row else {}

    def reset_data(self, chat_id, user_id, business_connection_id=None,
                   message_thread_id=None, bot_id=None) -> bool:
        key = self._key(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(Q["state.reset_data"], key)
            return cur.rowcount > 0

    def get_interactive_data(self, chat_id, user_id, business_connection_id=None,
                             message_thread_id=None, bot_id=None) -> StateDataContext:
        return StateDataContext(self, chat_id=chat_id, user_id=user_id,
                                business_connection_id=business_connection_id,
                                message_thread_id=message_thread_id, bot_id=bot_id)

    def save(self, chat_id, user_id, data, business_connection_id=None,
             message_thread_id=None, bot_id=None) -> bool:
        key = self._key(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(Q["state.put_data"], {**key, "data": Json(data)})
        return True

    def _get(self, chat_id, user_id, business_connection_id, message_thread_id, bot_id):
        key = self._key(chat_id, user_id, business_connection_id, message_thread_id, bot_id)
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(Q["state.get"], key)
            return cur.fetchone()
