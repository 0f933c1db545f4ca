"""Acceptance: a fleet of webhook instances behind a real nginx running the shipped site
(tests/nginx.py), through a real PgBouncer in transaction pooling, fed by tgemu's webhook.

- 5,000 updates from 500 chats reach three instances through nginx (`least_conn`); one
  instance is killed with SIGKILL midway and started again. Every update has exactly one
  effect, each chat's replies arrive in order, every update tgemu was answered 200 for is in
  the inbox, and tgemu's redeliveries and nginx's retries account for every attempt.
- A rolling restart (each instance stopped with SIGTERM and started again in turn) while
  updates stream in loses nothing, sends no reply twice, and Telegram sees no error.
- Through nginx, a request without the right secret gets 403 and stores nothing, a malformed
  body 400, and a body over WEBHOOK_MAX_BODY nginx's own 413 (client_max_body_size equals it;
  a body of exactly that size still reaches the bot and is stored).
"""

from __future__ import annotations

import difflib
import http.client
import json
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from fitclub.devdb import free_port
from tests.e2e.harness import (
    TOKEN,
    WEBHOOK_SECRET,
    BotProcess,
    Stream,
    inbox_status,
    query,
    wait_until,
)
from tests.nginx import SITE, Nginx, site_for_test
from tests.nginx import skip_reason as nginx_missing
from tests.pgbouncer import PgBouncer
from tests.pgbouncer import missing_reason as pgbouncer_missing
from tgemu import Emulator

INSTANCES = 3
CHATS = 500
PER_CHAT = 10
MAX_BODY = 16384
# Connections tgemu opens to nginx at once (setWebhook's max_connections, Telegram's default).
TELEGRAM_CONNECTIONS = 40


def _dbname(url: str) -> str:
    return url.rpartition("/")[2].partition("?")[0]


class Fleet:
    """Webhook instances on fixed ports, through one PgBouncer, behind one nginx."""

    def __init__(self, tmp_path: Path, emu: Emulator, launcher, bouncer: PgBouncer,
                 db_url: str) -> None:
        self.tmp_path = tmp_path
        self.emu = emu
        self.launcher = launcher
        self.bouncer = bouncer
        self.db_url = db_url  # straight to PostgreSQL: the test's own checks
        # The instances': through PgBouncer.
        self.bot_url = bouncer.url(_dbname(db_url))
        self.ports: list[int] = []
        self.runs: dict[int, BotProcess] = {}
        self.nginx: Nginx | None = None

    def up(self, instances: int) -> Nginx:
        """Start `instances` instances and nginx in front of them."""
        self.ports = [free_port() for _ in range(instances)]
        for port in self.ports:
            self.start(port)
        self.nginx = Nginx(self.tmp_path / "nginx", self.ports, max_body=MAX_BODY).start()
        return self.nginx

    def start(self, port: int, wait: bool = True) -> BotProcess:
        """An instance listening on `port` (the same port when it is started again)."""
        run = self.launcher.start_webhook(self.bot_url, port=port, wait=wait,
                                          WEBHOOK_MAX_BODY=MAX_BODY)
        self.runs[port] = run
        return run

    def set_webhook(self, url: str) -> None:
        """`bot.py set-webhook --url`, run once as a deployment does; tgemu pushes from now."""
        done = self.launcher.bot_py("set-webhook", "--url", url,
                                    WEBHOOK_MAX_CONNECTIONS=TELEGRAM_CONNECTIONS)
        assert done.returncode == 0, done.stdout + done.stderr
        with urllib.request.urlopen(f"{self.emu.base_url}/bot{TOKEN}/getWebhookInfo",
                                    timeout=10) as resp:
            info = json.load(resp)["result"]
        assert (info["url"], info["max_connections"]) == (url, TELEGRAM_CONNECTIONS), info

    def close(self) -> None:
        """nginx and PgBouncer stopped, after the instances (killed by pid, as the launcher
        would: their logs then end without PgBouncer vanishing under them)."""
        for run in self.runs.values():
            run.kill()
        if self.nginx is not None:
            self.nginx.stop()
        self.bouncer.stop()


@pytest.fixture
def fleet(request, tmp_path: Path, emu: Emulator, launcher, pg_server,
          db_url: str) -> Iterator[Fleet]:
    """A Fleet on this test's database (its instances are the launcher's, killed by pid at
    teardown; nginx and PgBouncer are stopped here). Skips when nginx or PgBouncer is missing,
    or when the tests run on a server of TEST_DATABASE_URL, which our PgBouncer cannot reach."""
    reason = nginx_missing()
    if reason:
        pytest.skip(reason)
    reason = pgbouncer_missing()
    if reason:
        pytest.skip(f"pgbouncer is missing: {reason}")
    if pg_server.dev is None:
        pytest.skip("the fleet needs the throwaway server (TEST_DATABASE_URL is set)")
    bouncer = PgBouncer(pg_server.dev, pool_size=40, max_client_conn=1000)
    fleet = Fleet(tmp_path, emu, launcher, bouncer, db_url)
    try:
        bouncer.start()
        yield fleet
    finally:
        rep = getattr(request.node, "rep_call", None)
        if fleet.nginx is not None and (rep is None or rep.failed):
            print(f"\n----- nginx's error log -----\n{fleet.nginx.error_tail()}"
                  f"\n----- PgBouncer's log -----\n{bouncer.log_tail(30)}")
        fleet.close()


def _webhook_attempts(emu) -> dict[int, int]:
    """update_id -> how many times tgemu POSTed it to the webhook."""
    bot = emu.bot(TOKEN)
    with bot.lock:
        return {uid: rec.attempts for uid, rec in bot.records.items()}


def _confirmed(emu, sent: list[int]) -> set[int]:
    """The updates among `sent` that tgemu has had a 2xx answer for (no longer pending)."""
    bot = emu.bot(TOKEN)
    with bot.lock:
        pending = {rec.update_id for rec in bot.pending}
        attempted = {uid for uid, rec in bot.records.items() if rec.attempts}
    return {uid for uid in sent if uid in attempted and uid not in pending}


def _assert_confirmed_are_stored(emu, db_url: str, sent: list[int]) -> int:
    """Every update tgemu got 200 for is in the inbox (200 only after the commit)."""
    confirmed = _confirmed(emu, sent)  # first: a commit can only come before its 200
    stored = {uid for (uid,) in query(db_url, "SELECT update_id FROM inbox")}
    lost = confirmed - stored
    assert not lost, f"{len(lost)} updates answered 200 but not in the inbox, e.g. " \
                     f"{sorted(lost)[:5]}"
    return len(confirmed)


def _wait_all_answered(fleet: Fleet, stream: Stream, timeout: float) -> None:
    """Stream.wait_processed, saying how long the processing and the replies took, or on a
    timeout where the updates stand."""
    started = time.monotonic()
    try:
        wait_until(lambda: inbox_status(fleet.db_url).get("done", 0) >= stream.total, timeout,
                   "every update processed", interval=0.25)
        processed = time.monotonic() - started
        stream.wait_processed(fleet.db_url, timeout=max(1.0, timeout - processed))
        print(f"from here every update processed in {processed:.1f}s, answered in "
              f"{time.monotonic() - started:.1f}s")
    except AssertionError as exc:
        outbox = dict(query(fleet.db_url, "SELECT status, count(*) FROM outbox GROUP BY status"))
        alive = {port: run.alive() for port, run in fleet.runs.items()}
        raise AssertionError(
            f"{exc}; inbox {dict(inbox_status(fleet.db_url))}, outbox {outbox}, "
            f"{stream.missing_answers()} answers missing, tgemu has "
            f"{fleet.emu.stats(TOKEN)['pending_updates']} updates pending, instances alive "
            f"{alive}") from None


@pytest.mark.xdist_group("e2e-heavy")
def test_5000_updates_through_nginx_and_pgbouncer_survive_an_instance_killed_midway(
        fleet, emu, db_url):
    """Three instances, one SIGKILLed while updates stream in and started again on its port:
    each of 5,000 updates (and a round more a second until the restarted one takes some) from
    500 chats has exactly one effect, `ack 1`, `ack 2` ... reach each
    chat in order (a reply sent again only if it was in flight in the killed instance), every
    update answered 200 was committed, nginx spread the updates over all three and sent the
    killed one's to the others, and tgemu POSTed each update once plus once per failed try."""
    nginx = fleet.up(INSTANCES)
    stream = Stream(emu, CHATS, prefix="fleet")
    started = time.monotonic()
    fleet.set_webhook(nginx.url)
    # All but the last round now; the last once the killed instance is back, so it has
    # updates to take however fast the machine is (tgemu may have pushed every earlier one
    # before the restart).
    sent = stream.send(PER_CHAT - 1)

    victim_port = fleet.ports[1]
    victim = fleet.runs[victim_port]
    victim_name = nginx.upstream(victim_port)
    wait_until(lambda: inbox_status(db_url).get("done", 0) >= stream.total * 0.3, 120,
               "a third of the updates done")
    assert nginx.answered_by()[victim_name] > 0, "the victim took no update before the kill"
    victim.signal(signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL
    confirmed_at_kill = _assert_confirmed_are_stored(emu, db_url, sent)
    # Outbox rows the dead process had claimed: those replies may have reached Telegram.
    in_flight = Counter(query(
        db_url, "SELECT o.chat_id, o.params->>'text' FROM outbox o"
                " JOIN bot_processes p ON p.id = o.claimed_by"
                " WHERE o.status = 'sending' AND p.pid = %s", (victim.pid,)))
    done_at_kill = inbox_status(db_url).get("done", 0)
    assert done_at_kill < stream.total, "the kill came after everything was done"
    print(f"killed one instance {time.monotonic() - started:.1f}s in: {done_at_kill} done, "
          f"{confirmed_at_kill} answered 200, {sum(in_flight.values())} of its replies in "
          f"flight")

    # The other two carry on alone for a while, then the victim comes back on its port.
    wait_until(lambda: inbox_status(db_url).get("done", 0) >= done_at_kill + 500, 120,
               "500 more updates done by the two left")
    restarted_at = time.time()
    fleet.start(victim_port)
    # nginx leaves an instance out for fail_timeout (5 s) after its failures: the last rounds
    # go out a second apart until the restarted one has taken some.
    deadline = time.monotonic() + 60
    sent += stream.send(1)
    while not nginx.answered_by(since=restarted_at)[victim_name]:
        assert time.monotonic() < deadline, "the restarted instance got no update"
        time.sleep(1)
        sent += stream.send(1)
    assert stream.total >= CHATS * PER_CHAT

    # About 40 s on an idle machine; the bound is for one shared with other test runs.
    _wait_all_answered(fleet, stream, timeout=240)
    took = time.monotonic() - started
    print(f"{stream.total} updates from {CHATS} chats stored, processed and answered in "
          f"{took:.1f}s")

    # Exactly once, in order.
    stream.assert_effects_exactly_once(db_url)
    assert query(db_url, "SELECT count(*) FROM inbox")[0][0] == stream.total
    duplicates: Counter = Counter()
    for chat, texts in stream.replies().items():
        assert list(dict.fromkeys(texts)) == [f"ack {k}" for k in
                                              range(1, stream.sent[chat] + 1)], \
            (chat, texts)
        for text, n in Counter(texts).items():
            if n > 1:
                duplicates[(chat, text)] += n - 1
    unexplained = {key: n for key, n in duplicates.items() if n > in_flight[key]}
    assert not unexplained, f"duplicate replies not in flight at the kill: " \
                            f"{list(unexplained.items())[:5]}"

    # Answered 200 only after the commit, to the end.
    assert _assert_confirmed_are_stored(emu, db_url, sent) == stream.total

    # tgemu: every update confirmed once; each extra POST is a failure it counted.
    stats = emu.stats(TOKEN)
    attempts = _webhook_attempts(emu)
    assert stats["pending_updates"] == 0
    assert stats["webhook_deliveries"] == stream.total
    assert all(attempts[uid] >= 1 for uid in sent)
    assert sum(attempts[uid] - 1 for uid in sent) == stats["webhook_failures"]
    # nginx saw each of those POSTs, answered non-2xx only for failures, and retried
    # on another instance what the killed one could not take.
    requests = nginx.requests()
    assert len(requests) == sum(attempts[uid] for uid in sent)
    # A non-2xx answer is a failure at tgemu; a failure may also be an answer lost on its way
    # back (a timeout, a reset connection) that nginx logged as 200: its update came again and,
    # as checked above, still had one effect.
    assert sum(1 for r in requests if not 200 <= r.status < 300) <= stats["webhook_failures"]
    retried = [r for r in requests if len(r.upstreams) > 1]
    assert any(r.upstreams[0] == victim_name and r.status == 200 for r in retried), \
        "nginx never had to pass a request on from the killed instance"

    # Spread: each instance answered a fair share; the victim again after its restart.
    shares = nginx.answered_by()
    print(f"answered by instance: {dict(shares)}; {len(retried)} requests retried by nginx; "
          f"tgemu: {stats['webhook_deliveries']} deliveries, {stats['webhook_failures']} "
          f"failures; {sum(duplicates.values())} duplicate replies")
    # Alone for a while, the other two took a third each and more; the victim, down for
    # seconds, still a fair part.
    for port in fleet.ports:
        least = 0.05 if port == victim_port else 0.25
        assert shares[nginx.upstream(port)] >= stream.total * least, shares
    assert nginx.answered_by(since=restarted_at)[victim_name] > 0, \
        "the restarted instance got no update"
    assert all(run.readyz()[0] == 200 for run in fleet.runs.values())

    # All of it went through PgBouncer, in transaction pooling.
    stats_db = [row for row in fleet.bouncer.show("STATS")
                if row["database"] == _dbname(db_url)]
    assert stats_db and int(stats_db[0]["total_xact_count"]) >= stream.total
    assert {row["pool_mode"] for row in fleet.bouncer.pools(_dbname(db_url))} == {"transaction"}


@pytest.mark.xdist_group("e2e-heavy")
def test_a_rolling_restart_behind_nginx_loses_nothing_and_telegram_sees_no_error(
        fleet, emu, db_url):
    """The three instances stopped with SIGTERM and started again one after the other while
    updates from 200 chats stream in (3,600 and more), as a new version is rolled out: each
    stops with 0, every update has exactly one effect and one reply, in order per chat (a
    graceful stop sends nothing twice), and tgemu never got an error: nginx passed each update
    a stopping instance refused (503) or no longer took on to another."""
    nginx = fleet.up(INSTANCES)
    stream = Stream(emu, 200, prefix="rolling")
    fleet.set_webhook(nginx.url)
    restarted: tuple[int, float] | None = None
    for port in list(fleet.ports):
        stream.send(6)  # 1,200 more, so each stop comes while updates stream in
        wait_until(lambda: inbox_status(db_url).get("done", 0) >= stream.total - 1000, 60,
                   "the batch under way")
        if restarted:
            # As the rolling upgrade says: the next one stops only once nginx sends the one
            # restarted before updates again (nginx left it out for fail_timeout after the
            # 503s of its draining), or two of the three would be out at once.
            back, since = restarted
            deadline = time.monotonic() + 60
            while not nginx.answered_by(since=since)[nginx.upstream(back)]:
                assert time.monotonic() < deadline, "nginx never sent the restarted one updates"
                stream.send(1)  # updates keep coming, as they do at a club
                time.sleep(1)
        run = fleet.runs[port]
        assert nginx.answered_by()[nginx.upstream(port)] > 0, "it took no update before"
        run.signal(signal.SIGTERM)
        assert inbox_status(db_url).get("done", 0) < stream.total, "stopped after the end"
        assert run.wait(20) == 0, run.log_tail()
        fleet.start(port)
        restarted = (port, time.time())
    stream.send(1)
    sent = list(stream.expected)

    _wait_all_answered(fleet, stream, timeout=120)
    stream.assert_effects_exactly_once(db_url)
    stream.assert_replies_exactly_once_in_order()
    stats = emu.stats(TOKEN)
    attempts = _webhook_attempts(emu)
    assert (stats["webhook_deliveries"], stats["webhook_failures"]) == (stream.total, 0)
    assert all(attempts[uid] == 1 for uid in sent)
    requests = nginx.requests()
    assert len(requests) == stream.total and all(r.status == 200 for r in requests)
    passed_on = Counter(r.upstream_statuses[0] for r in requests if len(r.upstreams) > 1)
    print(f"rolling restart: {stream.total} updates, requests nginx passed on, by the first "
          f"instance's answer: {dict(passed_on)}; answered by instance: "
          f"{dict(nginx.answered_by())}")


# -- bad requests through nginx -------------------------------------------------------------

def _post(nginx: Nginx, body: bytes, *, secret: str | None = WEBHOOK_SECRET,
          path: str | None = None, chunked: bool = False) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        if chunked:
            conn.request("POST", path or nginx.path, body=iter([body]), headers=headers,
                         encode_chunked=True)
        else:
            conn.request("POST", path or nginx.path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _update(update_id: int, text: str = "n 1", pad: int = 0) -> bytes:
    body = json.dumps({"update_id": update_id, "message": {
        "message_id": 1, "date": int(time.time()), "text": text,
        "chat": {"id": 777000 + update_id, "type": "private", "first_name": "Probe"},
        "from": {"id": 777000 + update_id, "is_bot": False, "first_name": "Probe"}}})
    return (body + " " * pad).encode()


def _sized_update(update_id: int, size: int) -> bytes:
    """A valid update padded with JSON whitespace to exactly `size` bytes."""
    body = _update(update_id)
    return _update(update_id, pad=size - len(body))


# (what is wrong, request options, the status nginx answers); bodies are updates unless given.
BAD_REQUESTS = [
    ("no secret", {"secret": None}, 403),
    ("a wrong secret", {"secret": "wrong"}, 403),
    ("the secret with its last character changed", {"secret": WEBHOOK_SECRET[:-1] + "x"}, 403),
    ("the secret and one character more", {"secret": WEBHOOK_SECRET + "x"}, 403),
    ("a body that is not JSON", {"body": b"not json"}, 400),
    ("a JSON array", {"body": b"[1, 2]"}, 400),
    ("no update_id", {"body": b'{"message": {}}'}, 400),
    ("update_id a string", {"body": b'{"update_id": "5"}'}, 400),
    ("update_id a float", {"body": b'{"update_id": 5.5}'}, 400),
    ("update_id true", {"body": b'{"update_id": true}'}, 400),
    ("update_id past bigint", {"body": b'{"update_id": 100000000000000000000}'}, 400),
    ("bytes that are not UTF-8", {"body": b'\xff\xfe{"update_id": 5}'}, 400),
    ("a body one byte over the limit", {"size": MAX_BODY + 1}, 413),
    ("a chunked body over the limit", {"size": MAX_BODY + 1, "chunked": True}, 413),
    ("a large body without the secret", {"size": 4 * MAX_BODY, "secret": None}, 413),
    ("a path other than the secret one", {"path": "/webhook"}, 404),
]


def test_through_nginx_bad_requests_are_refused_and_store_nothing(fleet, db_url):
    """Each bad request gets its status and stores nothing; a good one (even of exactly
    WEBHOOK_MAX_BODY bytes) is stored, so the checks can see a stored update."""
    nginx = fleet.up(1)
    # One fleet for all the cases (starting one per case would take minutes).
    for n, (what, options, expected) in enumerate(BAD_REQUESTS, start=1):
        update_id = 9000 + n
        body = options.get("body") or (_sized_update(update_id, options["size"])
                                       if "size" in options else _update(update_id))
        status = _post(nginx, body, secret=options.get("secret", WEBHOOK_SECRET),
                       path=options.get("path"), chunked=options.get("chunked", False))
        assert status == expected, f"{what}: {status}, not {expected}"
    assert query(db_url, "SELECT count(*) FROM inbox") == [(0,)]

    assert _post(nginx, _update(1)) == 200
    assert _post(nginx, _sized_update(2, MAX_BODY)) == 200
    assert _post(nginx, _sized_update(3, MAX_BODY), chunked=True) == 200
    assert sorted(uid for (uid,) in query(db_url, "SELECT update_id FROM inbox")) == [1, 2, 3]
    bounced = [r for r in nginx.requests() if r.status == 413]
    assert bounced and not any(r.upstreams for r in bounced), "nginx passed a 413 body on"


# -- the site the fleet runs behind -----------------------------------------------------------

@pytest.mark.parametrize("instances", [1, 3])
def test_the_fleet_runs_the_shipped_site_changed_only_where_a_test_must(tmp_path, instances):
    """Only the listen address, the instances' ports, the secret path, the body limit and the
    log paths differ from deploy/nginx/fitclub-bot.conf, plus the fleet's own access log."""
    shipped = SITE.read_text()
    ports = [free_port() for _ in range(instances)]
    ours = site_for_test(shipped, tmp_path, 4321, ports, "/telegram/test-path", MAX_BODY)
    diff = list(difflib.ndiff(shipped.splitlines(), ours.splitlines()))
    removed = [ln[2:].strip() for ln in diff if ln.startswith("- ")]
    added = [ln[2:].strip() for ln in diff if ln.startswith("+ ")]
    shipped_servers = [ln for ln in removed if ln.startswith("server 127.0.0.1:")]
    assert len(shipped_servers) == 3
    # Each instance line is a shipped one with the test's port: the same max_fails and so on.
    our_servers = [ln for ln in added if ln.startswith("server 127.0.0.1:")]
    assert our_servers == [shipped_servers[i].replace(f":{8441 + i} ", f":{port} ")
                           for i, port in enumerate(ports)]
    assert sorted(set(removed) - set(shipped_servers)) == sorted([
        "listen 80;", "listen [::]:80;", "location = /telegram/CHANGE-ME-TO-A-LONG-RANDOM-PATH {",
        "client_max_body_size 1048576;", "client_body_buffer_size 1048576;",
        "access_log /var/log/nginx/fitclub-bot.access.log fitclub_webhook;",
        "error_log /var/log/nginx/fitclub-bot.error.log warn;"])
    assert sorted(set(added) - set(our_servers)) == sorted([
        "listen 127.0.0.1:4321;", "location = /telegram/test-path {",
        f"client_max_body_size {MAX_BODY};", f"client_body_buffer_size {MAX_BODY};",
        f"access_log {tmp_path}/fitclub-bot.access.log fitclub_webhook;",
        f"access_log {tmp_path}/fleet-access.log fleet;",
        f"error_log {tmp_path}/fitclub-bot.error.log warn;"])


@pytest.mark.parametrize("instances", [0, 4])
def test_the_fleet_site_takes_one_to_three_instances(tmp_path, instances):
    with pytest.raises(ValueError, match="1 to 3 instances"):
        site_for_test(SITE.read_text(), tmp_path, 4321, list(range(9000, 9000 + instances)),
                      "/telegram/test-path", MAX_BODY)
