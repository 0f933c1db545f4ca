"""Announcements at scale, scaled down for `make test`: 600 members
with tgemu at Telegram's limits (30/s in total, 1/s per chat) and OUTBOUND_RATE=30.

The full 5,000-member run is `python -m bench.announce_bench` (part of `make bench`); it drives
the same scenario through the same helpers and prints its numbers.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import date

import psycopg2
import pytest

from fitclub.services import announcements as ann
from tests import factories
from tests.e2e.harness import TOKEN, query, wait_until
from tests.e2e.session import Person
from tgemu import Emulator

MEMBERS = 600
TELEGRAM_LIMITS = {"global_rate": 30.0, "per_chat_rate": 1.0}
ENV = {"OUTBOUND_RATE": "30", "PER_CHAT_RATE": "1", "ANNOUNCE_PROGRESS_SECONDS": "2",
       "JOB_POLL_SECONDS": "0.2", "OUTBOX_REPLY_MAX_AGE": "5"}


def populate(emu: Emulator, db_url: str, members: int) -> tuple[Person, Person, list]:
    """An admin, `members` registered members with an active membership whose chats are open,
    and one more member (the asker) who will ask for /membership while it runs."""
    factories.plan(db_url, "Ten", price_minor=3500, duration_days=60, visit_count=10)
    admin = Person(emu, "Ada")
    factories.member(db_url, admin.id, "Ada", phone="+4915100001", role="admin")
    users = [emu.create_user(f"U{i}") for i in range(members)]
    emu.open_chats(TOKEN, users)
    asker = Person(emu, "Asker")  # the last member id: their announcement is queued last
    ids = [u.id for u in users] + [asker.id]
    member_ids = factories.members(db_url, [{"telegram_id": t, "first_name": f"M{t}",
                                             "phone": f"+1000{t}"} for t in ids])
    factories.memberships(db_url, member_ids, starts_on=-1, ends_on=30, visits_left=10)
    return admin, asker, users


def start_announcement(admin: Person, text: str, recipients: int) -> int:
    """/announce, the text, Active members, Send: the progress message's id."""
    admin.send("/announce")
    _, audience = admin.send(text, expect=2)
    admin.press(audience, "Active members")
    shown = admin.wait_edit(audience["message_id"], f"{recipients} members will get it")
    admin.press(shown, f"Send to {recipients} members")
    return audience["message_id"]


def block_silently(emu: Emulator, users) -> None:
    """Users who blocked the bot without the bot being told (its my_chat_member update lost,
    or blocked before the bot kept track): it finds out from a 403."""
    bot = emu.bot(TOKEN)
    with bot.lock:
        for user in users:
            bot.chat(user.data).blocked = True


def received(emu: Emulator, chat_ids, text: str) -> Counter:
    """chat id -> how many times that chat got `text`."""
    bot = emu.bot(TOKEN)
    counts: Counter = Counter()
    with bot.lock:
        for chat_id in chat_ids:
            chat = bot.chats.get(chat_id)
            if chat is not None:
                counts[chat_id] = sum(1 for m in chat.sent if m.get("text") == text)
    return counts


def reply_seconds(person: Person, text: str, expect: str, timeout: float = 10) -> float:
    """Seconds from sending `text` to the bot's answer containing `expect` arriving at tgemu."""
    before = len(person.events())
    started = time.monotonic()
    person.user.send_text(TOKEN, text)
    wait_until(lambda: any(expect in (e.get("text") or "") for e in person.events()[before:]
                           if e["kind"] == "message"), timeout, f"the answer to {text}",
               interval=0.01)
    return time.monotonic() - started


def announcement(db_url: str, text: str) -> tuple:
    return query(db_url, "SELECT id, status, total, sent_count, failed_count, blocked_count"
                         " FROM announcements WHERE text = %s", (text,))[0]


@pytest.mark.xdist_group("e2e-heavy")
def test_600_members_sigkill_midway_replies_flow_and_stop_matches_tgemu(emu, launcher,
                                                                       db_url):
    emu.configure(**TELEGRAM_LIMITS)
    admin, asker, users = populate(emu, db_url, MEMBERS)
    everyone = [u.id for u in users] + [asker.id]
    total = MEMBERS + 1
    first = launcher.start(db_url, **ENV)

    # -- the first announcement: replies overtake it, health ignores it, SIGKILL midway ----------
    text = "Big news: the pool reopens on Monday"
    blockers = users[-3:]
    block_silently(emu, blockers)  # the bot learns it from the 403s
    started = time.monotonic()
    progress_id = start_announcement(admin, text, total)
    wait_until(lambda: sum(received(emu, everyone, text).values()) >= 60, 30,
               "the first 60 deliveries")
    latencies = []
    for _ in range(3):
        latencies.append(reply_seconds(asker, "/membership", "Ten"))
        status, health = first.healthz()
        assert status == 200 and not health.get("reply_too_old"), health
        time.sleep(1)
    wait_until(lambda: sum(received(emu, everyone, text).values()) >= total // 3, 60,
               "a third delivered")
    first.signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    killed_at = sum(received(emu, everyone, text).values())
    in_flight = {chat for (chat,) in query(db_url, "SELECT chat_id FROM outbox WHERE status ="
                                                   " 'sending' AND priority = 2")}
    assert killed_at < total - 100, "the kill came too late to prove anything"

    launcher.start(db_url, **ENV)
    wait_until(lambda: announcement(db_url, text)[3] is not None, 90, "the announcement done")
    done_after = time.monotonic() - started
    first_id, status1, total1, sent1, failed1, blocked1 = announcement(db_url, text)
    counts = received(emu, everyone, text)
    doubled = {chat: n for chat, n in counts.items() if n > 1}
    missing = [chat for chat in everyone if counts[chat] == 0]
    assert sorted(missing) == sorted(u.id for u in blockers)
    assert set(doubled) <= in_flight, f"sent twice though not in flight at the kill: {doubled}"
    assert (status1, total1, failed1, blocked1) == ("done", total, 0, 3)
    assert sent1 == total - 3 == len([c for c in counts if counts[c]])
    assert query(db_url, "SELECT count(*), count(DISTINCT member_id) FROM"
                         " announcement_deliveries WHERE announcement_id = %s", (first_id,)) \
        == [(total, total)]
    final = admin.wait_edit(progress_id, "delivered", timeout=15)
    assert f"Sent: {total - 3} · Failed: 0 · Blocked the bot: 3" in final["text"]
    edits = [e["time"] for e in admin.events()
             if e["kind"] == "edit" and e["message_id"] == progress_id]
    assert len(edits) <= done_after / 2 + 6, f"{len(edits)} edits in {done_after:.0f}s"
    stats = emu.stats(TOKEN)

    # -- the second announcement, stopped: what was sent is what tgemu got ------------------------
    text2 = "Second news: the sauna is closed tomorrow"
    recipients = total - 3  # those who blocked the bot are known now
    progress2 = start_announcement(admin, text2, recipients)
    wait_until(lambda: sum(received(emu, everyone, text2).values()) >= 90, 30,
               "90 deliveries of the second one")
    stop_pressed = time.monotonic()
    answer = admin.press(admin.now(progress2), "Stop sending")
    assert answer["text"].startswith("Stopped:")
    wait_until(lambda: announcement(db_url, text2)[3] is not None, 30, "the stop to settle")
    settled = time.monotonic() - stop_pressed
    second_id, status2, _, sent2, failed2, blocked2 = announcement(db_url, text2)
    counts2 = received(emu, everyone, text2)
    assert status2 == "cancelled" and failed2 == blocked2 == 0
    assert sent2 == sum(counts2.values()) == len([c for c in counts2 if counts2[c]])
    assert 90 <= sent2 < recipients - 200
    assert query(db_url, "SELECT count(*) FROM outbox o JOIN announcement_deliveries d"
                         " ON d.outbox_id = o.id WHERE d.announcement_id = %s"
                         " AND o.status IN ('pending', 'sending')", (second_id,)) == [(0,)]
    time.sleep(2)
    assert sum(received(emu, everyone, text2).values()) == sent2  # nothing more went out
    stopped = admin.wait_edit(progress2, "stopped", timeout=10)
    assert f"Not sent: {recipients - sent2}" in stopped["text"]
    assert "Stop sending" not in str(stopped.get("reply_markup"))

    http_429 = emu.stats(TOKEN)["http_429"]
    print(f"\n{total} recipients: done {done_after:.1f}s after Send (SIGKILL after {killed_at}"
          f" deliveries, {len(in_flight)} in flight, {sum(doubled.values())} sent twice);"
          f" /membership answered in {', '.join(f'{s:.2f}s' for s in latencies)};"
          f" 429s: {stats['http_429']} in the first, {http_429} in all;"
          f" {len(edits)} progress edits; stop: {sent2} sent = {sum(counts2.values())} at"
          f" tgemu, settled {settled:.1f}s after the press")
    assert max(latencies) < 2.0, latencies
    assert http_429 <= 5


@pytest.mark.xdist_group("e2e-heavy")
def test_healthz_replies_and_stop_with_ten_thousand_announcement_rows_queued(emu, launcher,
                                                                            db_url):
    """10,000 rows of one announcement in the outbox at once (as a producer that queues
    everything in one go would leave them): /healthz judges the oldest waiting reply, not the
    queue; a reply overtakes the member's own queued row; Stop takes back the rest quickly."""
    emu.configure(**TELEGRAM_LIMITS)
    admin, asker, users = populate(emu, db_url, 10_000)
    everyone = [u.id for u in users] + [asker.id]
    total = len(everyone)
    run = launcher.start(db_url, **ENV)
    text = "Everything at once"
    progress_id = start_announcement(admin, text, total)
    (ann_id,), = query(db_url, "SELECT id FROM announcements WHERE text = %s", (text,))
    conn = psycopg2.connect(db_url)
    try:
        with conn:
            ann.queue_batch(conn, ann_id, date.today(), 20_000)
    finally:
        conn.close()
    assert query(db_url, "SELECT count(*) FROM announcement_deliveries") == [(total,)]
    wait_until(lambda: query(db_url, "SELECT min(created_at) < now() - interval '6 s'"
                                     " FROM outbox WHERE status = 'pending' AND priority = 2")
               [0][0], 20, "the queue to be older than OUTBOX_REPLY_MAX_AGE")
    status, health = run.healthz()
    pending = query(db_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]
    assert status == 200 and not health.get("reply_too_old"), health
    assert pending > 9000
    latency = reply_seconds(asker, "/membership", "Ten")
    assert received(emu, [asker.id], text)[asker.id] == 0  # its own row still waits behind
    status, _ = run.healthz()
    assert status == 200
    pressed = time.monotonic()
    answer = admin.press(admin.now(progress_id), "Stop sending")
    stop_seconds = time.monotonic() - pressed
    assert answer["text"].startswith("Stopped:")
    wait_until(lambda: announcement(db_url, text)[3] is not None, 30, "the stop to settle")
    sent = announcement(db_url, text)[3]
    assert sent == sum(received(emu, everyone, text).values()) < 1000
    # (The members' "/" command lists queued at start-up wait behind, at their own priority.)
    # Nothing of the announcement stays queued; a last message to the admin's chat (paced at
    # PER_CHAT_RATE for every instance alike) may still be on its way for a moment.
    wait_until(lambda: query(db_url, "SELECT count(*) FROM outbox WHERE status = 'pending'"
                                     " AND method <> 'setMyCommands'") == [(0,)], 10,
               "nothing but the command lists left in the outbox")
    print(f"\n{pending} announcement rows pending: /healthz 200 (oldest reply"
          f" {health.get('oldest_reply_seconds')}), /membership answered in {latency:.2f}s,"
          f" Stop answered in {stop_seconds:.2f}s with {sent} sent")
    assert latency < 3.0
