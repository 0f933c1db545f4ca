"""Pictures (charts) drawn off the worker path and delivered through the outbox when ready.

A handler never waits for a drawing: it commits its screen as text (the numbers are true
without the picture) and hands the picture to the renderer, one thread of its own. The thread
has each picture drawn in one child process, spawned at the first picture and run at the lowest
CPU priority (SCHED_IDLE, else nice 10): drawing is Python holding the GIL for ~0.1 s, which in
the bot's own process would slow every worker, and matplotlib is not thread safe, so one
picture at a time. The thread holds no database connection meanwhile; it then delivers the
picture in a short transaction of its own:

- It takes the chat's advisory lock (the one a worker holds while it runs an update), waiting
  for it: the handler's transaction has then committed or rolled back. An update that is not
  `done` (rolled back, to be run again, which hands the picture over anew) gets nothing, nor
  does a member who erased their data meanwhile (any picture: the confirmation is the last
  message of their chat).
- A newer update in the chat means the member has moved on: the picture is not sent (the text
  screen they saw stays, and is true). A picture sent below the screen on display (the admins'
  weekly chart, which replaces nothing) goes all the same: it was asked for. No picture goes
  when a photo for the update is queued already (a handler run twice after a serialization
  retry).
- The text screen makes way for the photo (caption: the same text, the same buttons): a screen
  still pending in the outbox is dropped unsent, one already sent is deleted; one in flight is
  waited for (the picture is tried again shortly, up to DELIVERY_PATIENCE seconds).
- The photo is an outbox row like any other: at least once after a SIGKILL, in the chat's order.

Pictures live in memory only. A picture lost with the process (a crash, a stop) was derived
data: the member keeps the text screen, true, and gets the picture by asking again.

Equal keys mean equal pictures (a key holds everything drawn), so a picture drawn once is kept
(CACHE_SIZE, least recently used first out) and served again at once, drawn by nobody. A
member's picture that changed may be drawn once per cooldown; a press within it is refused
(`admit`), as is one while QUEUE_LIMIT members are waiting for theirs. The cooldown is per
process (a second instance keeps its own).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import psycopg2.extensions

from fitclub.db import rows
from fitclub.db.pool import Pool
from fitclub.runtime.context import UpdateContext
from fitclub.runtime.dispatcher import CHAT_LOCK_NAMESPACE

log = logging.getLogger(__name__)

CACHE_SIZE = 512  # pictures kept (a weekly chart is about 25 kB)
QUEUE_LIMIT = 300  # members waiting for a picture before the next is refused (~30 s of drawing)
DELIVERY_PATIENCE = 30.0  # seconds a picture waits for its text screen to leave the sender
RETRY_SECONDS = 0.25
DRAW_TIMEOUT = 60.0  # seconds a drawing may take before its process is replaced
NICE = 10  # the drawing process's niceness where SCHED_IDLE is not available


def _drawing_process(parent: int) -> None:
    """In the drawing process, first: yield the CPU to the bot and the database, and end when
    the bot does (a SIGKILL leaves no orphan drawing on)."""
    try:  # Linux: run only when a CPU would otherwise be idle
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):  # not allowed either: draw at the same priority
            os.nice(NICE)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@dataclass(frozen=True)
class Picture:
    """A picture to draw and the screen it replaces once drawn."""

    member_id: int
    chat_id: int
    update_id: int
    key: Hashable  # everything drawn: equal keys, equal pictures
    draw: Callable[[], bytes]  # the PNG; picklable (called in the drawing process)
    caption: str
    markup: Any
    filename: str
    # The outbox row of the text screen shown meanwhile (an edit or a message), or None for
    # a picture sent below the screen on display (the admins' weekly chart): nothing is
    # replaced, and it goes even when the person has moved on (they asked for it).
    screen_id: int | None
    pressed_message_id: int | None  # the message that screen was edited into, after a press
    queued_at: float = field(default_factory=time.monotonic)


class Refusal(NamedTuple):
    """Why no picture is drawn now: the member's cooldown (seconds left) or a full queue."""

    reason: str  # "cooldown" or "busy"
    wait: float = 0.0


class _State(NamedTuple):
    update_status: str | None
    member_gone: bool
    newer: bool
    photo_queued: bool
    screen_status: str | None
    screen_message_id: int | None


SENT, STALE, LATER = "sent", "stale", "later"


class Renderer:
    """The renderer thread, its queue (one place per member) and the pictures drawn."""

    def __init__(self, pool: Pool, *, cooldown: float,
                 on_queued: Callable[[], None] | None = None, queue_limit: int = QUEUE_LIMIT,
                 cache_size: int = CACHE_SIZE, clock: Callable[[], float] = time.monotonic,
                 metrics: Any = None) -> None:
        self.pool = pool
        self.cooldown = cooldown
        self.on_queued = on_queued or (lambda: None)
        self.queue_limit = queue_limit
        self.cache_size = cache_size
        self.clock = clock
        self._lock = threading.Condition()
        self._cache: OrderedDict[Hashable, bytes] = OrderedDict()
        # By member and file (a member's activity chart, an admin's weekly chart), oldest first.
        self._pending: OrderedDict[tuple[int, str], Picture] = OrderedDict()
        self._later: list[tuple[float, Picture]] = []
        self._last: dict[int, tuple[Hashable, float]] = {}  # member -> key, when admitted
        self._busy = False
        self._stop = threading.Event()
        self._deadline = float("inf")  # when stopping: no picture is started after it
        self._thread: threading.Thread | None = None
        self._drawer: ProcessPoolExecutor | None = None
        self.drawn = 0
        self.delivered = 0

    # -- what handlers call (inside their transaction) -------------------------------------

    def cached(self, key: Hashable) -> bytes | None:
        """The picture for key if it was drawn already."""
        with self._lock:
            png = self._cache.get(key)
            if png is not None:
                self._cache.move_to_end(key)
            return png

    def admit(self, member_id: int, key: Hashable) -> Refusal | None:
        """May this member's picture be drawn now? None (yes, counted from now) or why not.

        The same picture as the one last admitted is always allowed (a press while it is
        being drawn, or a handler run again); another one waits out the cooldown."""
        with self._lock:
            now = self.clock()
            last = self._last.get(member_id)
            if last is not None and last[0] == key:
                return None
            if last is not None and now - last[1] < self.cooldown:
                return Refusal("cooldown", self.cooldown - (now - last[1]))
            if len(self._pending) >= self.queue_limit and not any(
                    waiting == member_id for waiting, _ in self._pending):
                return Refusal("busy")
            if len(self._last) > 4 * self.queue_limit + 1000:
                self._last = {m: v for m, v in self._last.items()
                              if now - v[1] < self.cooldown}
            self._last[member_id] = (key, now)
            return None

    def submit(self, picture: Picture) -> None:
        """Draw it when its turn comes; a member's newer picture takes the older's place."""
        with self._lock:
            self._pending[(picture.member_id, picture.filename)] = picture
            self._lock.notify()

    # -- the thread --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the renderer thread."""
        self._thread = threading.Thread(target=self._loop, name="renderer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Deliver what is waiting until the timeout (bounded), then stop; pictures still
        waiting are lost (their members keep the text screens). True if it ended in time."""
        deadline = self.clock() + timeout
        with self._lock:
            self._deadline = deadline
            self._stop.set()
            self._lock.notify_all()
        if self._thread is None:
            return True
        self._thread.join(max(0.0, deadline - self.clock()))
        self._close_drawer()
        return not self._thread.is_alive()

    def _close_drawer(self, kill: bool = False) -> None:
        drawer, self._drawer = self._drawer, None
        if drawer is None:
            return
        if kill:  # a drawing that hangs: its process goes
            for process in list(getattr(drawer, "_processes", {}).values()):
                process.kill()
        drawer.shutdown(wait=False, cancel_futures=True)

    def _draw(self, picture: Picture) -> bytes:
        """The picture drawn in the drawing process (started at the first picture)."""
        if self._drawer is None:
            self._drawer = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_drawing_process, initargs=(os.getpid(),))
        try:
            return self._drawer.submit(picture.draw).result(timeout=DRAW_TIMEOUT)
        except Exception:
            self._close_drawer(kill=True)  # broken or hung: a new process next time
            raise

    def idle(self) -> bool:
        """Nothing waiting or being drawn (tests and benchmarks wait for it)."""
        with self._lock:
            return not self._pending and not self._later and not self._busy

    def _next(self) -> Picture | None:
        with self._lock:
            while True:
                now = self.clock()
                if now >= self._deadline:
                    return None
                due = [item for item in self._later if item[0] <= now]
                if due:
                    self._later.remove(due[0])
                    self._busy = True
                    return due[0][1]
                if self._pending:
                    _, picture = self._pending.popitem(last=False)
                    self._busy = True
                    return picture
                if self._stop.is_set():
                    return None
                wait = min((t for t, _ in self._later), default=now + 0.5) - now
                self._lock.wait(max(0.01, min(wait, 0.5)))

    def _loop(self) -> None:
        while True:
            picture = self._next()
            if picture is None:
                return
            try:
                self._one(picture)
            except Exception as exc:  # the database away past retries, a drawing that failed
                log.warning("picture for member %s (update %s) not delivered: %s",
                            picture.member_id, picture.update_id, type(exc).__name__)
            finally:
                with self._lock:
                    self._busy = False

    def _one(self, picture: Picture) -> None:
        png = self.cached(picture.key)
        if png is None:
            png = self._draw(picture)  # no lock of ours, no connection held
            self.drawn += 1
            with self._lock:
                self._cache[picture.key] = png
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        outcome = self.pool.run(lambda conn: deliver(conn, picture, png), attempts=3,
                                max_seconds=10)
        if outcome == SENT:
            self.delivered += 1
            self.on_queued()
        elif outcome == LATER:
            if self.clock() - picture.queued_at < DELIVERY_PATIENCE and not self._stop.is_set():
                with self._lock:
                    self._later.append((self.clock() + RETRY_SECONDS, picture))
            else:
                log.info("picture for member %s (update %s) given up: its screen is still "
                         "being sent", picture.member_id, picture.update_id)


def deliver(conn: psycopg2.extensions.connection, picture: Picture, png: bytes) -> str:
    """In one transaction under the chat's lock: replace the text screen by the photo, or say
    why not (STALE: not to be sent; LATER: the screen is in flight)."""
    rows.execute(conn, "pictures.lock_chat", {"namespace": CHAT_LOCK_NAMESPACE,
                                              "chat_id": picture.chat_id})
    state = rows.one(conn, "pictures.state", {
        "chat_id": picture.chat_id, "update_id": picture.update_id,
        "screen_id": picture.screen_id, "member_id": picture.member_id}, _State)
    if state is None or state.update_status != "done" or state.photo_queued \
            or state.member_gone:  # erased meanwhile: the confirmation was the last message
        return STALE
    ctx = UpdateContext(conn, chat_id=picture.chat_id, user_id=picture.chat_id,
                        update_id=picture.update_id)
    if picture.screen_id is None:  # sent below what is on display: nothing to replace
        ctx.send_photo(png, caption=picture.caption, filename=picture.filename,
                       reply_markup=picture.markup)
        return SENT
    if state.newer:
        return STALE
    if state.screen_status == "sending":
        return LATER
    target = picture.pressed_message_id
    if state.screen_status == "pending":
        if rows.scalar(conn, "pictures.drop_screen", {"id": picture.screen_id}) is None:
            return LATER  # a sender claimed it meanwhile
    elif state.screen_status == "sent" and target is None:
        target = state.screen_message_id
    if target:
        ctx.delete(target)
    ctx.send_photo(png, caption=picture.caption, filename=picture.filename,
                   reply_markup=picture.markup)
    return SENT


_process: dict[str, Renderer | None] = {"renderer": None}


def install(renderer: Renderer | None) -> None:
    """Make renderer the process's (the app does at start; None takes it away)."""
    _process["renderer"] = renderer


def installed() -> Renderer | None:
    """The process's renderer, or None (no app running: a script, a unit test)."""
    return _process["renderer"]
