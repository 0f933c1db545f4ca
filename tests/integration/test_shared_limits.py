"""The outbound limits every instance shares (sql/0031_shared_limits.sql), on real connections.

The function's tests run outbound_take() from several connections at once, as several instances
would; the senders' tests run two Senders (two process identities, two pools) on one database
against tgemu over HTTP.
"""

from __future__ import annotations

import itertools
import logging
import math
import signal
import threading
import time
from bisect import bisect_left
from collections.abc import Callable

import psycopg2
import pytest

from fitclub.db.migrate import Migrator
from fitclub.db.pool import Pool
from fitclub.db.queries import Q
from fitclub.runtime.metrics import Metrics
from fitclub.runtime.processes import ProcessIdentity
from fitclub.runtime.ratelimit import SEND_MARGIN, SharedLimits
from fitclub.runtime.sender import Sender
from fitclub.runtime.telegram import BotApi
from tests.helpers import query
from tgemu import Emulator

TOKEN = "424243:" + "L" * 35

BURST = 3.0


def _params(chat_id: int, *, capacity: int = 20, window: float = 1.0, margin: float = 0.0,
            chat_rate: float = 1000.0, chat_burst: float = BURST,
            max_ahead: float = 2.0) -> dict:
    return {"chat_id": chat_id, "capacity": capacity, "window": window, "margin": margin,
            "chat_rate": chat_rate, "chat_burst": chat_burst, "max_ahead": max_ahead}


def _connect(db_url: str):
    conn = psycopg2.connect(db_url)
    conn.autocommit = True  # as the sender runs it: one statement, no BEGIN/COMMIT
    return conn


def _take(conn, **params) -> tuple[bool, float]:
    with conn.cursor() as cur:
        cur.execute(Q["outbound.take"], _params(**params))
        granted, wait = cur.fetchone()
    return granted, wait


def _in_threads(db_url: str, threads: int, body: Callable) -> None:
    """Run body(conn, index) on `threads` threads, each with a connection of its own."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        conn = _connect(db_url)
        try:
            body(conn, index)
        except BaseException as exc:  # reported below: a thread's failure fails the test
            errors.append(exc)
        finally:
            conn.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for th in workers:
        th.start()
    for th in workers:
        th.join(60)
    assert not errors, errors


# A wait the database computed is at most what is left of its deadline when it answered, and
# at least that less the time since the clock started running (measured around the calls;
# the monotonic and database clocks agree to far better than this slack).
CLOCKS = 0.002


def busiest_window(times: list[float], width: float) -> int:
    """Most stamps inside any window [t, t + width) starting at a stamp."""
    times = sorted(times)
    return max((bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


def test_slots_taken_from_many_connections_never_crowd_the_window(db_url):
    """Eight connections ask for 20-per-second slots as fast as they can for 1.5 s: in the
    slots granted (read back exactly from each chat's bucket row, one chat per call), no 21
    lie within the window plus the margin, and the limit was in play (far more asked)."""
    margin = 0.05
    chats = itertools.count(1)
    asked: list[int] = []
    granted_count = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + 1.5

    def body(conn, _index):
        while time.monotonic() < stop_at:
            with lock:
                chat = next(chats)
                asked.append(chat)
            granted, wait = _take(conn, chat_id=chat, capacity=20, margin=margin)
            assert wait >= 0
            if granted:
                with lock:
                    granted_count[0] += 1
            else:
                time.sleep(min(wait, 0.05))

    _in_threads(db_url, 8, body)
    slots = [row[0] for row in query(
        db_url, "SELECT extract(epoch FROM at)::float8 FROM outbound_chat_pace ORDER BY at")]
    assert len(slots) == granted_count[0]
    assert len(asked) > 2 * len(slots), "the window was never full"
    tightest = min(b - a for a, b in zip(slots, slots[20:], strict=False))
    print(f"{len(asked)} asked, {len(slots)} granted; 21 slots span at least {tightest:.4f}s")
    assert tightest >= 1.0 + margin - 1e-6  # microseconds, as float8 epochs carry them
    assert busiest_window(slots, 1.0 + margin - 1e-6) <= 20


def test_senders_waking_at_their_slots_keep_the_limit_in_any_second(db_url):
    """As the sender does: take a slot, sleep until it, leave it if held up past use_by,
    else stamp the moment of the call. Twelve threads on two pools (two instances),
    OUTBOUND_RATE 20, the default margin: the stamps never put 21 in one second."""
    chats = itertools.count(1)
    stamps: list[float] = []
    stale = [0]
    lock = threading.Lock()
    pools = [Pool(db_url, minconn=1, maxconn=6) for _ in range(2)]
    limits = [SharedLimits(pool, rate=20, per_chat_rate=1.0) for pool in pools]
    stop_at = time.monotonic() + 2.5

    def body(index):
        while time.monotonic() < stop_at:
            with lock:
                chat = next(chats)
            slot = limits[index % 2].take(chat)
            time.sleep(slot.wait)
            if not slot.granted:
                continue
            now = time.monotonic()
            with lock:
                if now > slot.use_by:
                    stale[0] += 1
                else:
                    stamps.append(now)

    try:
        workers = [threading.Thread(target=body, args=(i,)) for i in range(12)]
        for th in workers:
            th.start()
        for th in workers:
            th.join(30)
    finally:
        for pool in pools:
            pool.close()
    busiest = busiest_window(stamps, 1.0)
    print(f"{len(stamps)} calls in 2.5 s ({stale[0]} slots left unused); busiest second "
          f"{busiest}")
    assert busiest <= 20
    assert busiest >= 14, "the limit was never in play"


def test_a_chat_gets_its_burst_then_its_rate(db):
    """PER_CHAT_RATE 1 with a burst of 3: three calls now, the fourth is told to wait up to a
    second (less what refilled while the four calls ran, measured) and takes nothing: the next
    chat goes at once; after that wait it is granted, and the one after it is not."""
    db.autocommit = True
    started = time.monotonic()
    for _ in range(3):
        assert _take(db, chat_id=7, chat_rate=1.0) == (True, 0.0)
    granted, wait = _take(db, chat_id=7, chat_rate=1.0)
    took = time.monotonic() - started
    assert granted is False
    assert 1.0 - took - CLOCKS <= wait <= 1.0, took
    assert _take(db, chat_id=8, chat_rate=1.0) == (True, 0.0)
    time.sleep(wait)  # the database said when: the slot itself is the condition
    assert _take(db, chat_id=7, chat_rate=1.0) == (True, 0.0)
    assert _take(db, chat_id=7, chat_rate=1.0)[0] is False


def test_one_chat_from_many_connections_keeps_its_pace(db_url):
    """Six connections sending to one chat at PER_CHAT_RATE 4 (burst 3) for 2 s: between any
    two of its slots (each written down exactly by a test trigger), no more were granted than
    the bucket allows, and the chat was pressed."""
    rate = 4.0
    query(db_url, """
        CREATE TABLE test_pace_log (at timestamptz NOT NULL);
        CREATE FUNCTION test_log_pace() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO test_pace_log VALUES (NEW.at); RETURN NEW; END $$;
        CREATE TRIGGER test_log_pace AFTER INSERT OR UPDATE ON outbound_chat_pace
        FOR EACH ROW EXECUTE FUNCTION test_log_pace();""")
    granted_count = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + 2.0

    def body(conn, _index):
        while time.monotonic() < stop_at:
            granted, wait = _take(conn, chat_id=99, chat_rate=rate)
            if granted:
                with lock:
                    granted_count[0] += 1
            time.sleep(wait)

    _in_threads(db_url, 6, body)
    slots = [r[0] for r in query(db_url, "SELECT extract(epoch FROM at)::float8"
                                         " FROM test_pace_log ORDER BY at")]
    assert len(slots) == granted_count[0]
    for i, j in itertools.combinations(range(len(slots)), 2):
        # Microseconds aside (float8 epochs), the bucket's bound holds exactly.
        assert j - i + 1 <= BURST + rate * (slots[j] - slots[i]) + 1e-4, (i, j)
    assert len(slots) >= BURST + rate * 1.5, "the chat was not pressed"


def _pause(db, **params) -> float:
    """outbound_pause(); the monotonic time just before it was asked."""
    before = time.monotonic()
    with db.cursor() as cur:
        cur.execute(Q["outbound.pause"], params)
    return before


def test_a_pause_for_one_chat_and_a_pause_for_everyone(db):
    """The waits are what is left of each pause: at most its length, at least that less the
    time since it was asked (measured)."""
    db.autocommit = True
    paused = _pause(db, chat_id=5, seconds=1.0, everyone=False)
    granted, wait = _take(db, chat_id=5)
    assert granted is False
    assert 1.0 - (time.monotonic() - paused) - CLOCKS <= wait <= 1.0
    assert _take(db, chat_id=6) == (True, 0.0)

    paused = _pause(db, chat_id=6, seconds=3.0, everyone=True)
    granted, wait = _take(db, chat_id=123, max_ahead=0.0)
    assert granted is False
    assert 3.0 - (time.monotonic() - paused) - CLOCKS <= wait <= 3.0
    # Within max_ahead of its end, the slot is reserved for the moment the pause ends.
    granted, later = _take(db, chat_id=123, max_ahead=5.0)
    assert granted is True
    assert 3.0 - (time.monotonic() - paused) - CLOCKS <= later <= wait


def test_a_pause_never_shortens_a_longer_one(db):
    db.autocommit = True
    paused = _pause(db, chat_id=5, seconds=4.0, everyone=True)
    _pause(db, chat_id=5, seconds=1.0, everyone=True)
    for chat, max_ahead in ((9, 0.0), (5, 10.0)):
        wait = _take(db, chat_id=chat, max_ahead=max_ahead)[1]
        # Still the 4 s pause (less the time since it was asked), not the 1 s one.
        assert 4.0 - (time.monotonic() - paused) - CLOCKS <= wait <= 4.0
        assert wait > 1.0


def test_a_slot_further_ahead_than_max_ahead_is_not_reserved(db):
    """OUTBOUND_RATE 2: two now; the third's slot is a second away, beyond max_ahead 0.5, so
    nothing is taken and the answer says when to ask again."""
    db.autocommit = True
    started = time.monotonic()
    assert _take(db, chat_id=1, capacity=2, max_ahead=0.5) == (True, 0.0)
    assert _take(db, chat_id=2, capacity=2, max_ahead=0.5) == (True, 0.0)
    granted, wait = _take(db, chat_id=3, capacity=2, max_ahead=0.5)
    assert granted is False
    # The slot is a second after the first send; ask again when it is within max_ahead.
    assert 0.5 - (time.monotonic() - started) - CLOCKS <= wait <= 0.5
    assert query(db.dsn, "SELECT cardinality(sends) FROM outbound_limit") == [(2,)]
    granted, wait = _take(db, chat_id=3, capacity=2, max_ahead=1.0)
    assert granted is True
    assert 1.0 - (time.monotonic() - started) - CLOCKS <= wait <= 1.0


def test_the_state_lost_in_a_crash_comes_back(db):
    """The tables are unlogged: after a database crash they are empty. The next call makes
    the row again, and a pause works on an empty table too."""
    db.autocommit = True
    with db.cursor() as cur:
        cur.execute("DELETE FROM outbound_limit")
    assert _take(db, chat_id=1) == (True, 0.0)
    assert query(db.dsn, "SELECT cardinality(sends) FROM outbound_limit") == [(1,)]
    with db.cursor() as cur:
        cur.execute("DELETE FROM outbound_limit")
        cur.execute(Q["outbound.pause"], {"chat_id": 1, "seconds": 2.0, "everyone": True})
    assert _take(db, chat_id=2, max_ahead=0.0)[0] is False


def test_after_a_real_database_crash_the_limits_start_empty_and_work(private_pg):
    """An immediate shutdown (a crash: recovery at the next start) empties the unlogged
    tables, the one row included: a pause for everyone is forgotten (at most one window's
    worth goes at once) and the next call works, making the row again."""
    url = private_pg.create_database("fitclub_crash")
    Migrator(url).migrate()
    conn = _connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(Q["outbound.pause"], {"chat_id": 1, "seconds": 600, "everyone": True})
        assert _take(conn, chat_id=2, max_ahead=0.0)[0] is False
    finally:
        conn.close()
    # This throwaway server commits without waiting for the WAL: flush it, so the crash
    # loses nothing but what is unlogged (a checkpoint never keeps unlogged rows).
    query(url, "CHECKPOINT")
    private_pg.proc.send_signal(signal.SIGQUIT)  # immediate shutdown: recovery at start
    private_pg.proc.wait(20)
    private_pg.proc = None
    private_pg.start()
    assert query(url, "SELECT count(*) FROM outbound_limit") == [(0,)]
    assert query(url, "SELECT count(*) FROM outbound_chat_pace") == [(0,)]
    conn = _connect(url)
    try:
        assert _take(conn, chat_id=2, max_ahead=0.0) == (True, 0.0)
    finally:
        conn.close()
    assert query(url, "SELECT cardinality(sends) FROM outbound_limit") == [(1,)]


def test_idle_chats_are_pruned_once_a_minute(db):
    """Buckets full again (untouched for burst / rate seconds) and not paused are deleted at
    the first call after a minute; a recent one and a paused one stay."""
    db.autocommit = True
    with db.cursor() as cur:
        cur.execute("INSERT INTO outbound_chat_pace (chat_id, tokens, at, paused_until) VALUES"
                    " (1, 0, clock_timestamp() - interval '10 s', '-infinity'),"
                    " (2, 0, clock_timestamp(), '-infinity'),"
                    " (3, 0, clock_timestamp() - interval '10 s',"
                    "  clock_timestamp() + interval '1 h')")
        cur.execute("UPDATE outbound_limit SET pruned_at = clock_timestamp()")
    assert _take(db, chat_id=4, chat_rate=1.0)[0] is True
    left = {r[0] for r in query(db.dsn, "SELECT chat_id FROM outbound_chat_pace")}
    assert left == {1, 2, 3, 4}  # pruned within the minute: not yet
    with db.cursor() as cur:
        cur.execute("UPDATE outbound_limit SET pruned_at = clock_timestamp() - interval '61 s'")
    assert _take(db, chat_id=5, chat_rate=1.0)[0] is True
    left = {r[0] for r in query(db.dsn, "SELECT chat_id FROM outbound_chat_pace")}
    assert left == {2, 3, 4, 5}


@pytest.mark.parametrize("bad", [
    {"capacity": 0}, {"window": 0.0}, {"margin": -0.1}, {"chat_rate": 0.0},
    {"chat_burst": 0.5}, {"max_ahead": -1.0}, {"chat_id": None}, {"capacity": None},
    {"window": None}, {"chat_rate": None},
])
def test_bad_arguments_are_refused(db, bad):
    db.autocommit = True
    params = {**_params(1), **bad}
    with db.cursor() as cur, pytest.raises(psycopg2.errors.InvalidParameterValue):
        cur.execute(Q["outbound.take"], params)


@pytest.mark.parametrize("bad", [
    {"seconds": -1.0}, {"seconds": 86401.0}, {"seconds": None}, {"chat_id": None},
    {"everyone": None},
])
def test_bad_pauses_are_refused(db, bad):
    db.autocommit = True
    params = {"chat_id": 1, "seconds": 1.0, "everyone": False, **bad}
    with db.cursor() as cur, pytest.raises(psycopg2.errors.InvalidParameterValue):
        cur.execute(Q["outbound.pause"], params)


def test_shared_limits_over_the_pool(db_url):
    """SharedLimits as the sender uses them: a chat's burst, then a wait; a pause shared."""
    pool = Pool(db_url, minconn=1, maxconn=2)
    try:
        limits = SharedLimits(pool, rate=30, per_chat_rate=1.0)
        before = time.monotonic()
        slots = [limits.take(77) for _ in range(4)]
        after = time.monotonic()
        assert [s.granted for s in slots] == [True, True, True, False]
        # Too old to use once later than the quickest answer plus half the margin.
        for slot in slots[:3]:
            assert before + slot.wait + SEND_MARGIN / 2 <= slot.use_by
            assert slot.use_by <= after + slot.wait + SEND_MARGIN / 2
        assert 1.0 - (after - before) - CLOCKS <= slots[3].wait <= 1.0
        other = SharedLimits(pool, rate=30, per_chat_rate=1.0)
        paused = time.monotonic()
        other.pause(78, 2.0, everyone=False)
        slot = limits.take(78)
        assert slot.granted is False
        assert 2.0 - (time.monotonic() - paused) - CLOCKS <= slot.wait <= 2.0
    finally:
        pool.close()


@pytest.mark.parametrize("kwargs", [
    {"rate": 0, "per_chat_rate": 1}, {"rate": 30, "per_chat_rate": -1},
    {"rate": 30, "per_chat_rate": 1, "burst": 0}, {"rate": 30, "per_chat_rate": 1, "margin": -1},
])
def test_shared_limits_refuse_bad_settings(kwargs):
    with pytest.raises(ValueError):
        SharedLimits(None, **kwargs)  # type: ignore[arg-type]


# -- two senders on one database ----------------------------------------------------------------


@pytest.fixture
def emu():
    with Emulator(global_rate=None, per_chat_rate=None) as e:
        yield e


@pytest.fixture
def senders(db_url, emu):
    """make(**options) starts a Sender as a process of its own would (own pool and identity)."""
    made = []

    def make(**options):
        pool = Pool(db_url, minconn=1, maxconn=8)
        api = BotApi(emu.base_url, TOKEN)
        # As if on a host of its own: two registrations from one pid would take each other
        # for a dead predecessor.
        here = ProcessIdentity.of_this_process()
        identity = ProcessIdentity(here.id, f"host-{len(made)}", here.pid_namespace, here.pid)
        opts = {"rate": 10, "per_chat_rate": 50, "threads": 4, "identity": identity,
                "metrics": Metrics(), **options}
        sender = Sender(pool=pool, api=api, **opts)
        sender.start()
        made.append((sender, pool, api))
        return sender

    yield make
    for sender, pool, api in made:
        sender.stop(5)
        api.close()
        pool.close()


def _stamp_sends(emu) -> list[tuple[float, str]]:
    """(arrival, chat id) of every sendMessage tgemu gets."""
    stamps: list[tuple[float, str]] = []
    lock = threading.Lock()
    dispatch = emu.call

    def stamped(token, method, params):
        if method.lower() == "sendmessage":
            with lock:
                stamps.append((time.monotonic(), str(params.get("chat_id"))))
        return dispatch(token, method, params)

    emu.call = stamped
    return stamps


def _enqueue(db_url: str, chat_ids: list[int], text: str) -> None:
    query(db_url, "INSERT INTO outbox (chat_id, method, params) "
                  "SELECT c, 'sendMessage', jsonb_build_object('chat_id', c, 'text', %s) "
                  "FROM unnest(%s::bigint[]) AS c", (text, chat_ids))


def _chats(emu, n: int) -> list[int]:
    users = [emu.create_user(first_name=f"L{i}") for i in range(n)]
    for u in users:
        u.send_text(TOKEN, "/start")  # a chat exists only once the user wrote to the bot
    return [u.id for u in users]


def _settled(db_url: str) -> bool:
    return query(db_url, "SELECT count(*) FROM outbox "
                         "WHERE status IN ('pending', 'sending')")[0][0] == 0


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_two_senders_keep_one_rate_between_them(db_url, emu, senders):
    """Two senders, OUTBOUND_RATE 10 each, 60 chats' messages: tgemu never gets more than 10
    in a second from both together (each alone would allow 10), and both sent."""
    chats = _chats(emu, 60)
    stamps = _stamp_sends(emu)
    _enqueue(db_url, chats, "hello")
    first, second = senders(), senders()
    first.wake()
    second.wake()
    _wait(lambda: _settled(db_url), 30, "every row sent")
    times = [t for t, _ in stamps]
    assert len(times) == 60
    sent_by = [s.metrics.outbox_sent.labels("sendMessage")._value.get() for s in (first, second)]
    assert sum(sent_by) == 60
    assert min(sent_by) >= 10, sent_by
    busiest = busiest_window(times, 1.0)
    print(f"60 sends in {max(times) - min(times):.2f}s; busiest second {busiest}")
    assert busiest <= 10
    assert busiest >= 8, "the limit was never in play"


def test_a_long_pause_from_another_instance_sends_the_row_back_to_the_queue(
        db_url, emu, senders):
    """Another instance was told to wait 5 s for this chat (lease 8 s: longer than a quarter
    of it): the row is not held in memory but handed back, due after the pause, and sent
    then."""
    (chat,) = _chats(emu, 1)
    stamps = _stamp_sends(emu)
    paused_at = time.monotonic()  # just before the pause: it ends no earlier than 5 s later
    query(db_url, "SELECT outbound_pause(%s, 5, false)", (chat,))
    _enqueue(db_url, [chat], "after the pause")
    senders(lease=8.0).wake()
    row = _wait(lambda: query(db_url, "SELECT status, attempts, extract(epoch FROM not_before -"
                                      " clock_timestamp()) FROM outbox WHERE attempts = 0"
                                      " AND not_before > clock_timestamp()"), 3,
                "the row handed back")
    status, attempts, due_in = row[0]
    assert (status, attempts) == ("pending", 0)
    # Due when the pause ends: what is left of it when the row was read back.
    assert 5.0 - (time.monotonic() - paused_at) - CLOCKS <= due_in <= 5.0
    _wait(lambda: _settled(db_url), 15, "the row sent after the pause")
    assert len(stamps) == 1
    assert stamps[0][0] - paused_at >= 5.0 - CLOCKS


def test_without_the_shared_limits_nothing_is_sent_and_it_is_said_once(
        db_url, emu, senders, caplog):
    """outbound_take() fails (here: it is renamed away): no row goes out unlimited, one warning
    says so, and once the function answers again every row goes."""
    chats = _chats(emu, 3)
    stamps = _stamp_sends(emu)
    query(db_url, "ALTER FUNCTION outbound_take RENAME TO outbound_take_away")
    caplog.set_level(logging.WARNING, logger="fitclub.runtime.sender")
    sender = senders()
    asked: list[int] = []
    take = sender.shared.take

    def counted(chat_id):
        asked.append(chat_id)
        return take(chat_id)

    sender.shared.take = counted
    _enqueue(db_url, chats, "held")
    sender.wake()

    def failing():
        return [r for r in caplog.records if "cannot take shared send slots" in r.getMessage()]

    _wait(failing, 5, "the warning")
    # Each row is tried again (about once a second) and refused each time: three tries each.
    _wait(lambda: all(asked.count(chat) >= 3 for chat in chats), 15, "three tries per row")
    assert stamps == []
    assert len(failing()) == 1
    query(db_url, "ALTER FUNCTION outbound_take_away RENAME TO outbound_take")
    _wait(lambda: _settled(db_url), 10, "every row sent")
    assert len(stamps) == 3
    assert any("taken again" in r.getMessage() for r in caplog.records)


def test_a_call_held_up_past_its_slot_takes_a_new_one(db_url, emu, senders):
    """A sender that reaches the call later than its slot plus half the margin (a starved
    thread, here every call by construction) does not make it with that slot: nothing goes
    while each slot is stale, slots keep being taken, and once they are fresh the row goes."""
    (chat,) = _chats(emu, 1)
    stamps = _stamp_sends(emu)
    sender = senders()
    sender.shared.late_after = -1.0  # every slot too old by the time of the call
    _enqueue(db_url, [chat], "late")
    sender.wake()
    _wait(lambda: query(db_url, "SELECT cardinality(sends) FROM outbound_limit")[0][0] >= 3,
          5, "several slots taken")
    assert stamps == []
    sender.shared.late_after = 0.05
    _wait(lambda: _settled(db_url), 10, "the row sent")
    assert len(stamps) == 1


def test_no_margin_means_no_lateness_limit():
    assert SharedLimits(None, 30, 1, margin=0).late_after == math.inf  # type: ignore[arg-type]
    assert SharedLimits(None, 30, 1).late_after == SEND_MARGIN / 2  # type: ignore[arg-type]


def test_a_database_farther_away_than_the_margin_still_lets_calls_go(db_url, emu, senders):
    """Each shared slot takes 0.2 s to ask for and 0.2 s to answer (a distant database, four
    times the margin): lateness counts from the answer, so every row still goes."""
    chats = _chats(emu, 3)
    stamps = _stamp_sends(emu)
    sender = senders()

    class Distant:
        def __init__(self, pool):
            self.pool = pool

        def run_alone(self, fn, **kwargs):
            time.sleep(0.2)
            try:
                return self.pool.run_alone(fn, **kwargs)
            finally:
                time.sleep(0.2)

    sender.shared.pool = Distant(sender.shared.pool)
    _enqueue(db_url, chats, "far")
    sender.wake()
    _wait(lambda: _settled(db_url), 15, "every row sent")
    assert len(stamps) == 3


def test_through_pgbouncer_in_transaction_pooling(pgbouncer, db_url):
    """The shared limits rely on no session state: through PgBouncer in transaction pooling,
    from two pools (two instances), the chat's burst, its wait and a shared pause hold."""
    url = pgbouncer.url(db_url.rsplit("/", 1)[1])
    pools = [Pool(url, minconn=1, maxconn=2) for _ in range(2)]
    try:
        first, second = (SharedLimits(pool, rate=30, per_chat_rate=1.0) for pool in pools)
        started = time.monotonic()
        assert [first.take(5).granted, second.take(5).granted, first.take(5).granted] == [
            True, True, True]
        slot = second.take(5)
        assert slot.granted is False
        # A second after the first of the three, less the time since (measured).
        assert 1.0 - (time.monotonic() - started) - CLOCKS <= slot.wait <= 1.0
        first.pause(6, 2.0, everyone=False)
        assert second.take(6).granted is False
        assert second.take(7).granted is True
    finally:
        for pool in pools:
            pool.close()


def test_a_take_commits_without_waiting_for_a_flush_and_leaves_the_session_as_it_was(db):
    """synchronous_commit is off for the take's own transaction only (no session state)."""
    with db.cursor() as cur:
        cur.execute("SET synchronous_commit = on")  # this throwaway server has it off
        db.commit()
        cur.execute(Q["outbound.take"], _params(1))
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "off"
        db.commit()
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"
