"""Members' journeys through the real bot, for tgemu's load driver (bench/members.py).

Every step is one update (a text or a button press) and waits for the screen it should bring:
the new message or the edit of the message whose button was pressed, found in tgemu's record
of the chat. The buttons pressed are the ones on the screen (their callback data read from the
message's reply_markup), never made up. A step whose screen does not come, or comes as
something else, raises ScreenError: the load driver counts it as an error and a sample of what
came is kept.

Two latencies per step: tgemu's (the update handed to the bot -> its first answering call:
answerCallbackQuery for a press), kept by the load driver, and the screen's (the update sent
-> the message or edit the member waits for reaching tgemu), kept here by Recorder.

Journeys (weights in WEIGHTS):

- browse: /start, Schedule, next day 1-3 times, a class's details.
- book: /start, Schedule, next day 1-4 times, a class's details, Book (or the waitlist if it
  filled up meanwhile, then Leave), Cancel my booking, Yes, cancel.
- bookings: /start, My bookings, and when there is one, its Cancel and Yes, cancel.
- waitlist: /start, Schedule, to the day of a full class (one of `full_classes`), its details,
  Join the waitlist, Leave the waitlist.
- membership, card, activity: /start and that screen (the card is a photo with its code; the
  activity is its chart, a photo, or the text "no visits yet").
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date

WEIGHTS = {"browse": 25, "book": 20, "bookings": 15, "waitlist": 5, "membership": 15,
           "card": 10, "activity": 10}
SCREEN_TIMEOUT = 15.0
MAX_SAMPLES = 20


class ScreenError(Exception):
    """The screen a step waits for did not come (or something else came)."""


def text_of(event: dict) -> str:
    return event.get("text") or event.get("caption") or ""


def buttons(event: dict) -> list[tuple[str, str]]:
    """(label, callback data) of the inline keyboard of a message as it was sent or edited."""
    markup = (event.get("message") or {}).get("reply_markup") or event.get("reply_markup") or {}
    return [(b.get("text", ""), b.get("callback_data") or "")
            for row in markup.get("inline_keyboard", []) for b in row]


def data_starting(event: dict, prefix: str) -> list[str]:
    return [d for _, d in buttons(event) if d.startswith(prefix)]


def has(event: dict, data: str) -> bool:
    return any(d == data for _, d in buttons(event))


# Screens are told apart by their buttons (members use English or Russian).
def is_menu(e: dict) -> bool:
    return has(e, "m:schedule") and has(e, "m:card")


def is_schedule(e: dict) -> bool:
    """A day of the timetable: its days' arrows and Menu (a class's details have Back)."""
    return has(e, "m:home") and bool(data_starting(e, "sc:"))


def is_details(e: dict) -> bool:
    """A class's details: Book / Join the waitlist / Cancel / Leave, and Back to the day."""
    return not has(e, "m:home") and bool(
        data_starting(e, "bk:") or data_starting(e, "ca:") or data_starting(e, "lv:")
        or data_starting(e, "sc:"))


def is_photo(e: dict) -> bool:
    return bool((e.get("message") or {}).get("photo"))


class Recorder:
    """Screen latencies and unexpected screens of one phase (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.steps: list[tuple[float, float, str]] = []   # (wall time done, seconds, step)
        self.journeys: Counter = Counter()
        self.journeys_done: Counter = Counter()
        self.unexpected: Counter = Counter()
        self.samples: list[str] = []

    def step(self, done_at: float, seconds: float, name: str) -> None:
        with self.lock:
            self.steps.append((done_at, seconds, name))

    def error(self, where: str, detail: str) -> None:
        with self.lock:
            self.unexpected[where] += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(f"{where}: {detail}"[:400])


class Journeys:
    """The scenario callable for run_load: each call runs one journey for one member."""

    def __init__(self, emu, token: str, recorder: Recorder, *, think: tuple[float, float],
                 full_classes: Sequence[tuple[int, date]] = (), today: date | None = None,
                 weights: dict[str, int] | None = None, seed: int = 1,
                 screen_timeout: float = SCREEN_TIMEOUT) -> None:
        self.emu = emu
        self.token = token
        self.rec = recorder
        self.think_range = think
        self.full_classes = list(full_classes)
        self.today = today or date.today()
        weights = dict(weights or WEIGHTS)
        if not self.full_classes:
            weights.pop("waitlist", None)
        self.names = list(weights)
        self.weights = [weights[n] for n in self.names]
        self.seed = seed
        self.screen_timeout = screen_timeout
        self._rngs: dict[int, random.Random] = {}

    # -- the scenario -----------------------------------------------------------------------

    def __call__(self, u) -> None:
        rng = self._rngs.setdefault(u.index, random.Random(self.seed * 1_000_003 + u.index))
        name = rng.choices(self.names, self.weights)[0]
        with self.rec.lock:
            self.rec.journeys[name] += 1
        getattr(self, f"j_{name}")(u, rng)
        with self.rec.lock:
            self.rec.journeys_done[name] += 1

    def think(self, rng: random.Random) -> None:
        lo, hi = self.think_range
        if hi > 0:
            time.sleep(rng.uniform(lo, hi))

    # -- one step ---------------------------------------------------------------------------

    def _step(self, u, name: str, action: Callable[[], object], want: Callable[[dict], bool],
              message_id: int | None = None) -> dict:
        """Run `action` (one update), then wait for a bot message (or an edit of message_id)
        that `want` accepts; its event. ScreenError when none comes in time."""
        bot = self.emu.bot(self.token)
        with bot.lock:
            chat = bot.chat(u.user.data)
            before = len(chat.events)
        action()  # paced by the driver, then waits (bounded) for the bot's first answering call
        deadline = time.monotonic() + self.screen_timeout
        seen: list[dict] = []
        with bot.lock:
            # The latency starts when the member's update reached tgemu (its own event), not
            # when the step began: the driver's open-loop pacing is not the bot's time.
            started = next((e["time"] for e in chat.events[before:] if e.get("from") == "user"
                            and e["kind"] in ("message", "callback")), None)
            while True:
                seen = [e for e in chat.events[before:]
                        if e.get("from") == "bot" and (
                            e["kind"] == "message"
                            or (e["kind"] == "edit" and e.get("message_id") == message_id))]
                for event in seen:
                    if want(event):
                        t0 = event["time"] if started is None else started
                        self.rec.step(event["time"], max(0.0, event["time"] - t0), name)
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                chat.cv.wait(min(remaining, 1.0))
        got = " | ".join(f"{e['kind']}: {text_of(e)[:80]!r} {[d for _, d in buttons(e)][:6]}"
                         for e in seen[-2:]) or "nothing"
        self.rec.error(name, f"got {got}")
        raise ScreenError(f"{name}: unexpected screen ({got})")

    def send(self, u, name: str, text: str, want: Callable[[dict], bool]) -> dict:
        return self._step(u, name, lambda: u.send_text(text), want)

    def press(self, u, name: str, screen: dict, data: str,
              want: Callable[[dict], bool]) -> dict:
        mid = screen["message_id"]
        return self._step(u, name, lambda: u.press_button(mid, data), want, message_id=mid)

    # -- screens ----------------------------------------------------------------------------

    def home(self, u) -> dict:
        return self.send(u, "start", "/start", lambda e: e["kind"] == "message" and is_menu(e))

    def schedule(self, u, menu: dict) -> dict:
        return self.press(u, "schedule", menu, "m:schedule", is_schedule)

    def next_day(self, u, screen: dict) -> dict | None:
        ahead = [d for label, d in buttons(screen) if d.startswith("sc:") and label.endswith("▶")]
        if not ahead:
            return None
        before = text_of(screen).split("\n", 1)[0]
        return self.press(u, "schedule_page", screen, ahead[0],
                          lambda e: is_schedule(e) and text_of(e).split("\n", 1)[0] != before)

    def details(self, u, screen: dict, data: str) -> dict:
        return self.press(u, "class_details", screen, data, is_details)

    # -- journeys ---------------------------------------------------------------------------

    def j_browse(self, u, rng: random.Random) -> None:
        screen = self.schedule(u, self.home(u))
        for _ in range(rng.randint(1, 3)):
            self.think(rng)
            screen = self.next_day(u, screen) or screen
        classes = data_starting(screen, "cl:")
        if classes:
            self.think(rng)
            self.details(u, screen, rng.choice(classes))

    def j_book(self, u, rng: random.Random) -> None:
        screen = self.schedule(u, self.home(u))
        for _ in range(rng.randint(1, 4)):
            self.think(rng)
            screen = self.next_day(u, screen) or screen
        classes = data_starting(screen, "cl:")
        if not classes:
            return
        self.think(rng)
        screen = self.details(u, screen, rng.choice(classes))
        book = data_starting(screen, "bk:")
        if book:
            self.think(rng)
            screen = self.press(u, "book", screen, book[0],
                                lambda e: bool(data_starting(e, "ca:") or data_starting(e, "lv:")))
            if data_starting(screen, "lv:"):  # it filled up meanwhile: the waitlist took us
                self.think(rng)
                self.leave(u, screen)
                return
        self.cancel(u, rng, screen)

    def cancel(self, u, rng: random.Random, screen: dict) -> None:
        ask = data_starting(screen, "ca:")
        if not ask:
            leave = data_starting(screen, "lv:")
            if leave:
                self.leave(u, screen)
            return
        self.think(rng)
        screen = self.press(u, "cancel_ask", screen, rng.choice(ask),
                            lambda e: bool(data_starting(e, "cy:")))
        self.think(rng)
        self.press(u, "cancel", screen, data_starting(screen, "cy:")[0],
                   lambda e: not data_starting(e, "cy:"))

    def leave(self, u, screen: dict) -> None:
        self.press(u, "leave_waitlist", screen, data_starting(screen, "lv:")[0],
                   lambda e: not data_starting(e, "lv:"))

    def j_bookings(self, u, rng: random.Random) -> None:
        screen = self.press(u, "bookings", self.home(u), "m:bookings",
                            lambda e: has(e, "m:home") and has(e, "m:schedule"))
        if data_starting(screen, "ca:") or data_starting(screen, "lv:"):
            self.cancel(u, rng, screen)

    def j_waitlist(self, u, rng: random.Random) -> None:
        class_id, day = rng.choice(self.full_classes)
        screen = self.schedule(u, self.home(u))
        for _ in range(max(0, (day - self.today).days)):
            self.think(rng)
            nxt = self.next_day(u, screen)
            if nxt is None:
                break
            screen = nxt
        wanted = [d for d in data_starting(screen, "cl:") if d.split(":")[1] == str(class_id)]
        if not wanted:
            self.rec.error("waitlist_find", f"class {class_id} not on {text_of(screen)[:60]!r}")
            raise ScreenError(f"waitlist: class {class_id} not on the schedule of {day}")
        self.think(rng)
        screen = self.details(u, screen, wanted[0])
        if data_starting(screen, "lv:"):  # still on it from an interrupted journey
            self.leave(u, screen)
            return
        if data_starting(screen, "ca:"):  # holds a place in it (a freed place came to us)
            self.cancel(u, rng, screen)
            return
        join = data_starting(screen, "bk:")
        if not join:
            self.rec.error("waitlist_join", f"no join button: {buttons(screen)[:4]}")
            raise ScreenError("waitlist: no button to join")
        self.think(rng)
        screen = self.press(u, "join_waitlist", screen, join[0],
                            lambda e: bool(data_starting(e, "lv:") or data_starting(e, "ca:")))
        self.think(rng)
        if data_starting(screen, "lv:"):
            self.leave(u, screen)
        else:  # a place had come free: booked after all
            self.cancel(u, rng, screen)

    def j_membership(self, u, rng: random.Random) -> None:
        self.press(u, "membership", self.home(u), "m:membership", lambda e: not is_menu(e))

    def j_card(self, u, rng: random.Random) -> None:
        self.press(u, "card", self.home(u), "m:card",
                   lambda e: e["kind"] == "message" and is_photo(e))

    def j_activity(self, u, rng: random.Random) -> None:
        self.press(u, "activity", self.home(u), "m:activity",
                   lambda e: is_photo(e) if e["kind"] == "message" else not is_menu(e))
