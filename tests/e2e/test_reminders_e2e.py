"""Acceptance (issue 10): /settings, and reminders sent once across processes and restarts."""

from __future__ import annotations

from tests.e2e.harness import query
from tests.e2e.session import Person


def _member(db_url: str, person: Person, language: str = "en") -> int:
    (member_id,), = query(db_url, "INSERT INTO members (telegram_id, first_name, phone,"
                                  " registered_at, language) VALUES (%s, %s, %s, now(), %s)"
                                  " RETURNING id", (person.id, f"M{person.id}", f"+1555{person.id}",
                                                   language))
    return member_id


def test_settings_switch_reminders_and_language_in_place(emu, launcher, db_url):
    anna = Person(emu, "Anna")
    _member(db_url, anna)
    launcher.start(db_url)
    (screen,) = anna.send("/settings")
    assert "Reminders: on" in screen["text"]
    anna.press(screen, "Turn reminders off")
    anna.wait_edit(screen["message_id"], "Reminders: off")
    assert query(db_url, "SELECT reminders_enabled FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [(False,)]
    anna.press(anna.now(screen["message_id"]), "Русский")
    now = anna.wait_edit(screen["message_id"], "Напоминания: выключены")
    assert "Включить напоминания" in str(now["reply_markup"])
    assert query(db_url, "SELECT language FROM members WHERE telegram_id = %s",
                 (anna.id,)) == [("ru",)]
    anna.press(now, "Включить")
    anna.wait_edit(screen["message_id"], "Напоминания: включены")
    assert len(anna.messages()) == 1  # everything happened in place
