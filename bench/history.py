"""A club with history: N registered members and what a year of use leaves in the database.

`seed_club(url, members=N)` fills a database migrated with fitclub.db.migrate.Migrator, all
of it set-based (INSERT ... SELECT generate_series) in one transaction, so 20,000 members
take seconds rather than minutes. Synthetic data only (names "Member 17", phones +1555...).

What it writes (the schema's constraints and triggers hold for every row; see the notes):

- `members`: N registered members, member i (0-based, i < N) with Telegram id
  700_000_000 + i, first name "Member i", a phone, 10% in Russian; registered over the
  weeks of history. Trainers (Telegram ids 690_000_000 + j) lead the classes.
- `membership_plans` (3, "Bench ..."), `class_types` (6, "Bench ...").
- `memberships`: a current one (active) for 3 members in 4 (unlimited or 10 visits), and
  expired monthly ones back through the history (about 2 months in 3).
- `classes`: every day from weeks_back weeks ago to weeks_ahead weeks ahead, one class per
  CLASS_MEMBERS members a day (at least 4), capacity 20, 07:00-21:00 UTC in parallel rooms;
  so the same share of members is active at 1,000 and at 20,000 (about 0.4 class bookings
  per member a week).
- `bookings`: past classes 50-100% full (attended; 1 in 10 cancelled, 1 in 20 no-show);
  classes to come 20-100% booked (by members with a current membership, no visit reserved),
  1 in 10 full with 1-5 on its waitlist. `visits`: one
  class visit per attended booking. `classes.booked_count` is set from the bookings at the
  end (the counting trigger is disabled for the bulk insert and enabled again in the same
  transaction; the CHECK on capacity then holds for the stored counts).
- `audit_log`: the booking's audit entries (booked/waitlisted, cancelled) of the last
  AUDIT_RETENTION_DAYS (365).
- The runtime's trail, `inbox` (processed updates) and `outbox` (sent replies), one reply per
  update, UPDATES_PER_MEMBER_WEEK updates per member a week, with `chat_flood` buckets and
  done `jobs` (class reminders). **Default: the steady state the retention job keeps**
  (src/fitclub/services/retention.py: processed inbox rows, finished outbox rows, flood
  buckets and finished jobs older than RETENTION_DAYS = 7 days go), i.e. the last 7 days.
  `retention=False` (`--no-retention`): every row of the weeks_back weeks (a year), as a
  club with the sweep switched off would hold (52 times more; minutes at 20,000 members).

Update ids are 1..R (R stored updates), received in id order, the newest a few seconds ago:
the bot resumes polling after the newest stored id, so a bench using tgemu must call
`emu.set_next_update_id(token, counts["next_update_id"])` before the bot starts (otherwise
tgemu's ids 1, 2, ... are taken for redeliveries of the stored ones).

    .venv/bin/python -m bench.history --members 20000 [--no-retention] [--weeks-back 52]

(the CLI starts a throwaway PostgreSQL, migrates it, seeds it and prints counts and time).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import UTC, datetime

import psycopg2

TELEGRAM_BASE = 700_000_000
TRAINER_BASE = 690_000_000
CLASS_MEMBERS = 250          # one class a day per this many members
CAPACITY = 20
UPDATES_PER_MEMBER_WEEK = 5
RETENTION_DAYS = 7           # fitclub.services.retention.DEFAULT_DAYS
AUDIT_DAYS = 365             # fitclub.services.retention.DEFAULT_AUDIT_DAYS

PLANS = (("Bench Unlimited", 300000, 30, None, 7), ("Bench 10 visits", 150000, 60, 10, 0),
         ("Bench Year", 2500000, 365, None, 30))
CLASS_TYPES = ("Bench Yoga", "Bench Pilates", "Bench Spinning", "Bench Boxing",
               "Bench Stretch", "Bench HIIT")

COUNTED = ("members", "membership_plans", "memberships", "class_types", "classes",
           "bookings", "visits", "audit_log", "inbox", "outbox", "chat_flood", "jobs",
           "command_lists",
           "conversation_state")


def _stride(n: int) -> int:
    """A step coprime with n: (base + j * step) % n visits n distinct members for j < n."""
    for step in (7919, 7907, 7901, 7883, 104729):
        if math.gcd(step, n) == 1:
            return step
    return 1


def _steps(members: int, weeks_back: int, weeks_ahead: int, retention: bool,
           updates_per_week: float, bot_id: int | None,
           classes_per_day: int | None) -> list[tuple[str, str, dict]]:
    per_day = classes_per_day or max(4, math.ceil(members / CLASS_MEMBERS))
    rooms = max(1, math.ceil(per_day / 14))
    trainers = max(3, math.ceil(per_day / 4))
    window_days = RETENTION_DAYS if retention else weeks_back * 7
    updates = max(1, round(members * updates_per_week * window_days / 7))
    p = {"n": members, "base": TELEGRAM_BASE, "tbase": TRAINER_BASE, "trainers": trainers,
         "per_day": per_day, "rooms": rooms, "back": weeks_back * 7, "ahead": weeks_ahead * 7,
         "cap": CAPACITY, "stride": _stride(members), "updates": updates,
         # Classes to come are booked by members with a current membership (i % 4 <> 3):
         # the e-th of them is member 4 * (e / 3) + e % 3.
         "current": members - members // 4, "cstride": _stride(members - members // 4),
         "window": window_days, "audit_days": AUDIT_DAYS, "jobs_days": window_days,
         "bot_id": bot_id, "months": max(0, weeks_back * 7 // 30)}
    plans = ", ".join(f"('{n}', {price}, {days}, {'NULL' if v is None else v}, {f})"
                      for n, price, days, v, f in PLANS)
    types = ", ".join(f"('{n}', 'A {n[6:].lower()} class.', 60, {CAPACITY})"
                      for n in CLASS_TYPES)
    steps = [
        ("plans", f"INSERT INTO membership_plans (name, price_minor, duration_days, visit_count,"
                  f" freeze_days) VALUES {plans} ON CONFLICT DO NOTHING", p),
        ("class_types", "INSERT INTO class_types (name, description, default_duration_minutes,"
                        f" default_capacity) VALUES {types} ON CONFLICT DO NOTHING", p),
        ("trainers",
         "INSERT INTO members (telegram_id, first_name, phone, username, role, registered_at,"
         " privacy_notice_at, privacy_notice)"
         " SELECT %(tbase)s + j, 'Trainer ' || j, '+1444' || lpad(j::text, 7, '0'),"
         "        'bench_trainer' || j, 'trainer', now(), now(), 'bench'"
         " FROM generate_series(0, %(trainers)s - 1) j ON CONFLICT (telegram_id) DO NOTHING", p),
        ("members",
         "INSERT INTO members (telegram_id, first_name, phone, username, language, role,"
         " registered_at, created_at, updated_at, privacy_notice_at, privacy_notice)"
         " SELECT %(base)s + i, 'Member ' || i, '+1555' || lpad(i::text, 8, '0'),"
         "        'bench_member' || i, CASE WHEN i %% 10 = 9 THEN 'ru' ELSE 'en' END, 'member',"
         "        r, r, r, r, 'bench'"
         " FROM generate_series(0, %(n)s - 1) i,"
         "      LATERAL (SELECT now() - make_interval(days => %(back)s)"
         "                     * (1 - i::float8 / %(n)s) AS r) reg", p),
        ("maps",
         "CREATE TEMP TABLE seed_members ON COMMIT DROP AS"
         " SELECT telegram_id - %(base)s AS i, id FROM members"
         " WHERE telegram_id >= %(base)s AND telegram_id < %(base)s + %(n)s;"
         " CREATE UNIQUE INDEX ON seed_members (i);"
         " CREATE TEMP TABLE seed_trainers ON COMMIT DROP AS"
         " SELECT telegram_id - %(tbase)s AS j, id FROM members"
         " WHERE telegram_id >= %(tbase)s AND telegram_id < %(tbase)s + %(trainers)s;"
         " CREATE TEMP TABLE seed_types ON COMMIT DROP AS"
         " SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM class_types"
         f" WHERE name IN ({', '.join(repr(t) for t in CLASS_TYPES)});"
         " CREATE TEMP TABLE seed_plans ON COMMIT DROP AS"
         " SELECT name, id, visit_count FROM membership_plans WHERE name LIKE 'Bench %%'", p),
        ("memberships_current",
         "INSERT INTO memberships (member_id, plan_id, starts_on, ends_on, visits_left, status,"
         " created_at)"
         " SELECT m.id, pl.id, d, d + 29, pl.visit_count - (m.i %% 5)::int, 'active',"
         "        d::timestamptz"
         " FROM seed_members m,"
         "      LATERAL (SELECT current_date - (m.i %% 25)::int AS d) s,"
         "      seed_plans pl"
         " WHERE m.i %% 4 <> 3"
         "   AND pl.name = CASE WHEN m.i %% 2 = 0 THEN 'Bench Unlimited' ELSE 'Bench 10 visits'"
         "                 END", p),
        ("memberships_past",
         "INSERT INTO memberships (member_id, plan_id, starts_on, ends_on, visits_left, status,"
         " created_at)"
         " SELECT m.id, pl.id, d, d + 29, 0, 'expired', d::timestamptz"
         " FROM seed_members m, generate_series(1, %(months)s) k,"
         "      LATERAL (SELECT current_date - (m.i %% 25)::int - 30 * k AS d) s,"
         "      seed_plans pl"
         " WHERE (m.i + k) %% 3 <> 0 AND pl.name = 'Bench 10 visits'", p),
        ("classes",
         "CREATE TEMP TABLE seed_classes (k bigint, id bigint, starts_at timestamptz,"
         " past boolean) ON COMMIT DROP;"
         " WITH slots AS ("
         "   SELECT d, s, row_number() OVER (ORDER BY d, s) AS k,"
         "          ((current_date + d)::timestamp"
         "           + make_interval(hours => 7 + s / %(rooms)s)) AT TIME ZONE 'UTC' AS at"
         "   FROM generate_series(-%(back)s, %(ahead)s - 1) d,"
         "        generate_series(0, %(per_day)s - 1) s),"
         " ins AS ("
         "   INSERT INTO classes (class_type_id, trainer_id, starts_at, duration_minutes,"
         "                        capacity, room, created_at)"
         "   SELECT t.id, tr.id, sl.at, 60, %(cap)s, 'Studio ' || (sl.s %% %(rooms)s + 1),"
         "          sl.at - interval '14 days'"
         "   FROM slots sl"
         "   JOIN seed_types t ON t.k = sl.s %% 6"
         "   JOIN seed_trainers tr ON tr.j = (sl.s + sl.d + %(back)s) %% %(trainers)s"
         "   ORDER BY sl.k"
         "   RETURNING id, starts_at)"
         " INSERT INTO seed_classes"
         " SELECT row_number() OVER (ORDER BY starts_at, id), id, starts_at, starts_at < now()"
         " FROM ins;"
         " CREATE UNIQUE INDEX ON seed_classes (k)", p),
        ("bookings",
         "ALTER TABLE bookings DISABLE TRIGGER bookings_maintain_booked_count;"
         " INSERT INTO bookings (class_id, member_id, status, created_at, updated_at,"
         "                       cancelled_at)"
         " SELECT c.id, m.id, b.status, b.at, b.at,"
         "        CASE WHEN b.status = 'cancelled' THEN c.starts_at - interval '1 day' END"
         " FROM seed_classes c,"
         "      LATERAL (SELECT CASE WHEN c.past THEN 10 + (c.k * 7) %% 11"
         "                           WHEN c.k %% 10 = 0 THEN %(cap)s + 1 + (c.k / 10) %% 5"
         "                           ELSE 4 + (c.k * 13) %% 17 END AS seats) f,"
         "      generate_series(0, least(f.seats,"
         "                               CASE WHEN c.past THEN %(n)s ELSE %(current)s END) - 1) j,"
         "      LATERAL (SELECT CASE WHEN j >= %(cap)s THEN 'waitlisted'"
         "                           WHEN NOT c.past THEN 'booked'"
         "                           WHEN j %% 10 = 9 THEN 'cancelled'"
         "                           WHEN j %% 20 = 7 THEN 'no_show'"
         "                           ELSE 'attended' END AS status,"
         "                      least(c.starts_at - interval '1 hour' * (1 + (j * 5 + c.k) %% 70),"
         "                            now() - interval '1 hour')"
         "                        - make_interval(secs => j) AS at) b,"
         "      seed_members m"
         " WHERE m.i = CASE WHEN c.past"
         "             THEN ((c.k * 104729) %% %(n)s + j * %(stride)s) %% %(n)s"
         "             ELSE 4 * (((c.k * 104729) %% %(current)s + j * %(cstride)s)"
         "                       %% %(current)s / 3)"
         "                  + ((c.k * 104729) %% %(current)s + j * %(cstride)s)"
         "                    %% %(current)s %% 3"
         "             END;"
         " UPDATE classes c SET booked_count = x.seats"
         " FROM (SELECT class_id, count(*)::int AS seats FROM bookings"
         "       WHERE status IN ('booked', 'attended', 'no_show') GROUP BY class_id) x"
         " WHERE c.id = x.class_id AND c.booked_count <> x.seats;"
         " ALTER TABLE bookings ENABLE TRIGGER bookings_maintain_booked_count", p),
        ("visits",
         "INSERT INTO visits (member_id, class_id, checked_in_at, method)"
         " SELECT b.member_id, b.class_id, c.starts_at - interval '5 minutes', 'class'"
         " FROM bookings b JOIN seed_classes c ON c.id = b.class_id"
         " WHERE b.status = 'attended'", p),
        ("audit_log",
         "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, details)"
         " SELECT b.created_at, b.member_id,"
         "        CASE WHEN b.status = 'waitlisted' THEN 'booking.waitlisted'"
         "             ELSE 'booking.booked' END,"
         "        'booking', b.id, jsonb_build_object('class_id', b.class_id)"
         " FROM bookings b JOIN seed_classes c ON c.id = b.class_id"
         " WHERE b.created_at > now() - make_interval(days => %(audit_days)s)"
         " UNION ALL"
         " SELECT b.cancelled_at, b.member_id, 'booking.cancelled', 'booking', b.id,"
         "        jsonb_build_object('class_id', b.class_id, 'late', false)"
         " FROM bookings b JOIN seed_classes c ON c.id = b.class_id"
         " WHERE b.status = 'cancelled'"
         "   AND b.cancelled_at > now() - make_interval(days => %(audit_days)s)", p),
        ("inbox",
         "INSERT INTO inbox (update_id, chat_id, kind, payload, received_at, status,"
         "                   processed_at)"
         " SELECT u, tg, CASE WHEN u %% 3 = 0 THEN 'callback_query' ELSE 'message' END,"
         "        CASE WHEN u %% 3 = 0 THEN jsonb_build_object('update_id', u,"
         "          'callback_query', jsonb_build_object('id', u::text, 'data', 'sched:1',"
         "            'from', jsonb_build_object('id', tg, 'is_bot', false,"
         "                                       'first_name', 'Member ' || i),"
         "            'message', jsonb_build_object('message_id', u, 'date', ep,"
         "              'chat', jsonb_build_object('id', tg, 'type', 'private'))))"
         "        ELSE jsonb_build_object('update_id', u, 'message', jsonb_build_object("
         "            'message_id', u, 'date', ep, 'text', '/schedule',"
         "            'from', jsonb_build_object('id', tg, 'is_bot', false,"
         "                                       'first_name', 'Member ' || i),"
         "            'chat', jsonb_build_object('id', tg, 'type', 'private',"
         "                                       'first_name', 'Member ' || i))) END,"
         "        at, 'done', at + interval '15 milliseconds'"
         " FROM generate_series(1, %(updates)s) u,"
         "      LATERAL (SELECT (u * %(stride)s) %% %(n)s AS i) x,"
         "      LATERAL (SELECT %(base)s + x.i AS tg,"
         "                      now() - interval '5 seconds' - make_interval(days => %(window)s)"
         "                        * (1 - u::float8 / %(updates)s) AS at) y,"
         "      LATERAL (SELECT extract(epoch FROM y.at)::bigint AS ep) z", p),
        ("outbox",
         "INSERT INTO outbox (chat_id, method, params, priority, status, attempts, not_before,"
         "                    update_id, created_at, sent_at, result_message_id)"
         " SELECT chat_id, CASE WHEN kind = 'callback_query' THEN 'editMessageText'"
         "                      ELSE 'sendMessage' END,"
         "        jsonb_build_object('chat_id', chat_id, 'text',"
         "          'Schedule for today: ' || repeat('Bench Yoga 07:00 (12 of 20 places). ', 8),"
         "          'reply_markup', jsonb_build_object('inline_keyboard', jsonb_build_array("
         "            jsonb_build_array(jsonb_build_object('text', 'Next', 'callback_data',"
         "                                                 'sched:2'))))),"
         "        0, 'sent', 1, received_at + interval '10 milliseconds', update_id,"
         "        received_at + interval '10 milliseconds',"
         "        received_at + interval '30 milliseconds', update_id"
         " FROM inbox WHERE update_id BETWEEN 1 AND %(updates)s ORDER BY update_id", p),
        ("chat_flood",
         "INSERT INTO chat_flood (chat_id, tokens, updated_at, warned)"
         " SELECT chat_id, 5, max(received_at), false FROM inbox"
         " WHERE update_id BETWEEN 1 AND %(updates)s"
         "   AND received_at > now() - make_interval(days => %(jobs_days)s)"
         " GROUP BY chat_id ON CONFLICT (chat_id) DO NOTHING", p),
        ("jobs",
         "INSERT INTO jobs (kind, payload, dedup_key, run_at, status, attempts, created_at,"
         "                  finished_at)"
         " SELECT 'class_reminder', jsonb_build_object('booking_id', b.id),"
         "        b.id || '@' || extract(epoch FROM c.starts_at)::bigint,"
         "        c.starts_at - interval '2 hours', 'done', 1,"
         "        c.starts_at - interval '3 hours', c.starts_at - interval '2 hours'"
         " FROM bookings b JOIN seed_classes c ON c.id = b.class_id"
         " WHERE c.past AND c.starts_at > now() - make_interval(days => %(jobs_days)s)"
         "   AND b.status IN ('attended', 'no_show')"
         " ON CONFLICT (kind, dedup_key) DO NOTHING", p),
        # A club that has run: every registered member's "/" list is the one they should
        # have (fitclub.commands), so the start-up sync has nothing to send.
        ("command_lists",
         "INSERT INTO command_lists (chat_id, fingerprint, queued_at)"
         " SELECT m.telegram_id, w.fingerprint, m.registered_at FROM members m"
         " JOIN unnest(%(cl_roles)s::text[], %(cl_languages)s::text[],"
         "             %(cl_fingerprints)s::text[]) AS w (role, language, fingerprint)"
         "   ON w.role = m.role AND w.language = m.language"
         " WHERE m.registered_at IS NOT NULL AND m.telegram_id IS NOT NULL"
         " ON CONFLICT (chat_id) DO NOTHING", {**p, **_command_lists()}),
    ]
    if bot_id is not None:
        steps.append((
            "conversation_state",
            "INSERT INTO conversation_state (bot_id, chat_id, user_id, state, data, updated_at)"
            " SELECT %(bot_id)s, %(base)s + i, %(base)s + i, 'settings:menu', '{}',"
            "        now() - make_interval(hours => i %% (24 * %(jobs_days)s))"
            " FROM generate_series(0, %(n)s - 1, 10) i ON CONFLICT DO NOTHING", p))
    return steps


def _command_lists() -> dict[str, list[str]]:
    from fitclub.commands import wanted

    lists = wanted()
    return {"cl_roles": [role for role, _ in lists], "cl_languages": [lang for _, lang in lists],
            "cl_fingerprints": list(lists.values())}


def seed_club(url: str, *, members: int, weeks_back: int = 52, weeks_ahead: int = 4,
              seed: int = 1, retention: bool = True,
              updates_per_member_week: float = UPDATES_PER_MEMBER_WEEK,
              bot_id: int | None = None, classes_per_day: int | None = None,
              vacuum: bool = True) -> dict:
    """Fill a migrated database with a club of `members` members and its history; the rows
    of each table afterwards, the seconds taken and `next_update_id` (see the module doc).

    `retention` (default True): the inbox/outbox/flood/jobs rows of the last RETENTION_DAYS,
    what the retention job keeps; False: every row of the weeks_back weeks. `bot_id`: also
    some idle conversation states of that bot. `seed` sets PostgreSQL's random() (the data
    is otherwise a pure function of the arguments). `classes_per_day`: a fixed timetable
    instead of one class a day per CLASS_MEMBERS members (past classes then fill only as far
    as members allow, every class 10-20 seats)."""
    if members < 1 or weeks_back < 0 or weeks_ahead < 0:
        raise ValueError("members >= 1, weeks_back >= 0 and weeks_ahead >= 0")
    started = time.monotonic()
    timings: dict[str, float] = {}
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute("SELECT setseed(%s)", ((seed % 1000) / 1000.0,))
            for name, sql, params in _steps(members, weeks_back, weeks_ahead, retention,
                                            updates_per_member_week, bot_id,
                                            classes_per_day):
                t0 = time.monotonic()
                cur.execute(sql, params)
                timings[name] = round(time.monotonic() - t0, 2)
        conn.autocommit = True
        with conn.cursor() as cur:
            t0 = time.monotonic()
            cur.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
            timings["vacuum_analyze" if vacuum else "analyze"] = round(time.monotonic() - t0, 2)
            counts = {}
            for table in COUNTED:
                cur.execute(f"SELECT count(*) FROM {table}")
                counts[table] = cur.fetchone()[0]
            cur.execute("SELECT coalesce(max(update_id), 0) + 1 FROM inbox")
            next_update_id = cur.fetchone()[0]
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()[0]
    finally:
        conn.close()
    return {"members": members, "weeks_back": weeks_back, "weeks_ahead": weeks_ahead,
            "retention": retention, "retention_days": RETENTION_DAYS if retention else None,
            "first_telegram_id": TELEGRAM_BASE, "next_update_id": next_update_id,
            "counts": counts, "database_mb": round(size / 1e6, 1), "step_seconds": timings,
            "seconds": round(time.monotonic() - started, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--weeks-back", type=int, default=52)
    parser.add_argument("--weeks-ahead", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-retention", action="store_true",
                        help="a year of raw inbox/outbox rows instead of the last 7 days")
    args = parser.parse_args(argv)
    from fitclub.db.migrate import Migrator
    from fitclub.devdb import DevPostgres

    with DevPostgres() as dev:
        url = dev.create_database("fitclub_history")
        t0 = time.monotonic()
        Migrator(url).migrate()
        migrated = time.monotonic() - t0
        result = seed_club(url, members=args.members, weeks_back=args.weeks_back,
                           weeks_ahead=args.weeks_ahead, seed=args.seed,
                           retention=not args.no_retention)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC: migrated in {migrated:.1f}s;"
          f" seeded {args.members:,} members in {result['seconds']:.1f}s"
          f" ({'retention steady state, last 7 days' if result['retention'] else 'no retention'}"
          f" of inbox/outbox), database {result['database_mb']} MB")
    for table, n in result["counts"].items():
        print(f"  {table:20} {n:>12,}")
    print("  steps (s): " + ", ".join(f"{k} {v}" for k, v in result["step_seconds"].items()))
    print(f"  next_update_id {result['next_update_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
