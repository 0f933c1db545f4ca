"""A scripted tour of the web chat: `make screenshots` saves a PNG of every screen a member, a
trainer and an admin can reach, for docs/user-guide.md.

Starts the demo the way `make demo` does (`python bot.py demo --port P`: a throwaway
PostgreSQL, tgemu with its web chat, the bot), drives the web chat in headless Chromium as
people do (picks a user, types, presses buttons) and saves one PNG per screen into this folder,
cropped to the messages on show, named `<role>-<screen>.png`; the member screens once more in
Russian into `ru/`. Who plays what: the new members Maria (English) and Вера (Russian)
register and ask for a plan; the demo's Emma Johnson (English) and Дмитрий Волков (Russian)
book, cancel, wait in line and look at their card, activity and settings; the trainer Anna
Petrova checks members in and marks attendance; the admin "You" runs the club.

Buttons are found by their labels in the bot's own catalogs (`fitclub.locales`), and every
screen is checked to be the one expected before its picture is taken, so the tour follows
changes of wording. A part that fails says at which screen and why, and the tour goes on with
the next part; it exits non-zero at the end, listing what failed (and the screens whose PNG
was not refreshed). Everything it started (the demo and the browser) is stopped by process id,
also when a step fails or the tour is interrupted.

    python docs/screenshots/take.py                    # everything (make screenshots)
    python docs/screenshots/take.py --only trainer     # parts whose name has "trainer"
    python docs/screenshots/take.py --url http://127.0.0.1:8081/   # a demo already running
    python docs/screenshots/take.py --out /tmp/shots   # elsewhere (e.g. "before" pictures)

Needs Debian's chromium, chromium-driver and fonts-noto-color-emoji (emoji are boxes without
it); run as root, it installs what is missing with apt-get (tools/browser.py).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import itertools
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
from fitclub.locales import Texts  # noqa: E402 - the checkout's own catalogs
from tools import browser as browser_tools  # noqa: E402

WIDTH, HEIGHT = 420, 900  # a phone; a taller screen grows the window for its shot, all are cropped
YOU, ANNA = "1000", "900001"  # the demo's admin "You" and trainer Anna Petrova
# Demo members: Emma Johnson (counted visits) and Дмитрий Волков (unlimited) are not booked on
# the demo's full class, so they can join its waitlist; James Walker's card is checked in by
# its code.
EMMA, DMITRY, JAMES = "910008", "910003", "910002"
NEW_TYPE = {"en": "Boxing", "ru": "Бокс"}  # the class type the admin creates
NEW_PLAN = {"en": "Quarter, 24 visits", "ru": "Квартал, 24 визита"}  # the plan the admin creates
FAILED = Path(tempfile.gettempdir()) / "fitclub-tour-failed"  # the chat when a part failed
ANSWER_SECONDS = 20  # how long a press or a message may take to change the chat
# Shown messages get a phone-like width; the page's own controls and other messages are hidden.
SHOT_CSS = """
header, footer, #toast, #empty { display: none !important; }
#messages { flex: none !important; overflow: visible !important; }
.msg { max-width: 94% !important; }
#messages > :not(.shot-keep) { display: none !important; }
"""
SHOT_CSS_NO_KEYBOARD = "#reply-kb { display: none !important; }"


def say(text: str) -> None:
    sys.stderr.write(f"tour: {text}\n")
    sys.stderr.flush()


# -- the bot's words -------------------------------------------------------------------------

_FIELD = re.compile(r"\{([A-Za-z_]\w*)[^{}]*\}")
_TAG = re.compile(r"<[^>]+>")


class Words:
    """One language's catalog as the screens show it: labels and texts to find on screen."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.tx = Texts(lang)

    def raw(self, key: str, n: int | None = None) -> str:
        """The catalog's text of `key` (its form for n when plural), with its placeholders."""
        catalog = self.tx._tr  # the compiled catalog: the texts with their placeholders
        return catalog.ngettext(key, key, n) if n is not None else catalog.gettext(key)

    @staticmethod
    def plain(text: str) -> str:
        """As the web chat shows it: tags gone, entities decoded."""
        return html.unescape(_TAG.sub("", text))

    def __call__(self, key: str, n: int | None = None, **values: object) -> str:
        """The whole text with its values."""
        text = self.tx.plural(key, n, **values) if n is not None else self.tx(key, **values)
        return self.plain(text)

    def start(self, key: str, form: int | None = None, **known: object) -> str:
        """The text up to its first value not in `known`: how a button's label begins (a
        plural one in its form for the number `form`)."""
        raw, out, pos = self.raw(key, form), [], 0
        for field in _FIELD.finditer(raw):
            out.append(raw[pos:field.start()])
            if field.group(1) not in known:
                return self.plain("".join(out))
            out.append(str(known[field.group(1)]))
            pos = field.end()
        return self.plain("".join(out) + raw[pos:])

    def piece(self, key: str, n: int | None = None) -> str:
        """The longest stretch of the text without values: found on screen whatever they are."""
        parts = re.split(r"\{[^{}]*\}|<[^>]+>|\n", self.raw(key, n))
        return max((html.unescape(p).strip() for p in parts), key=len)

    def pattern(self, key: str, whole: bool = True) -> re.Pattern[str]:
        """The text of `key` whatever its values (any plural form): a whole label, or
        (`whole=False`) anywhere in a text."""
        forms = {self.raw(key, n) for n in (1, 2, 5)} | {self.raw(key)}
        found = []
        for form in sorted(forms - {key}, key=len, reverse=True):
            parts = _FIELD.split(_TAG.sub("", form))
            literal = [re.escape(html.unescape(p)) for p in parts[::2]]
            found.append("(?:.+?)".join(literal))
        text = "|".join(f"(?:{f})" for f in found)
        return re.compile(f"^(?:{text})$" if whole else text)

    def date(self, day: date, length: str = "short") -> str:
        return self.tx.date(day, length)


# -- the demo and the browser ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo(NamedTuple):
    url: str
    timezone: str


@contextlib.contextmanager
def demo(port: int, payments: bool = False) -> Iterator[Demo]:
    """`python bot.py demo --port P` until the block ends (with its test payment provider, or
    `PAYMENT_PROVIDER_TOKEN=off`); yields the web chat's address and the club's time zone."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "LOG_LEVEL", "PAYMENT_PROVIDER_TOKEN")}
    if not payments:
        env["PAYMENT_PROVIDER_TOKEN"] = "off"  # noqa: S105 (a switch, not a secret)
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "demo", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 300
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("the demo did not start in 5 minutes:\n"
                                   + "".join(seen)) from None
            if line is None:
                raise RuntimeError("the demo stopped while starting:\n" + "".join(seen))
            seen.append(line)
            if line.strip().startswith("Ctrl-C"):
                break
        zone = re.search(r"time zone ([^)\s]+)\)", "".join(seen))
        say(f"demo running on port {port} (pid {proc.pid})")
        yield Demo(f"http://127.0.0.1:{port}/", zone.group(1) if zone else "UTC")
    finally:
        stop_demo(proc)


def stop_demo(proc: subprocess.Popen) -> None:
    """SIGTERM (the demo stops the bot and removes its PostgreSQL), then SIGKILL its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            say(f"demo (pid {proc.pid}) did not stop in 60 s; killing its process group")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    say(f"demo stopped (exit code {proc.returncode})")


def _pids_using(profile: str) -> list[int]:
    """Processes whose command line names this run's browser profile (our Chromium's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if profile.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


@contextlib.contextmanager
def browser(binary: str) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile, a phone's width; ended by process id."""
    profile = tempfile.mkdtemp(prefix="fitclub-shots-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--lang=en-GB", f"--window-size={WIDTH},{HEIGHT}",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    service = Service(browser_tools.CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_window_size(WIDTH, HEIGHT)
        yield driver
    finally:
        with contextlib.suppress(WebDriverException, OSError):
            driver.quit()  # ends chromedriver and the browser it started
        process = getattr(service, "process", None)
        left = [p for p in _pids_using(profile) if p != os.getpid()]
        if process is not None and process.poll() is None:
            left.append(process.pid)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if left:
            say(f"browser processes left after quitting were ended: {left}")
        shutil.rmtree(profile, ignore_errors=True)


# -- the web chat ----------------------------------------------------------------------------

Label = str | re.Pattern[str]


class Chat:
    """The web chat, driven like a person would: pick a user, type, press buttons."""

    def __init__(self, driver: webdriver.Chrome, url: str) -> None:
        self.d = driver
        self.url = url
        self.quiet: list[str] = []  # presses that changed nothing on screen

    def _until(self, check: Callable[[], object], what: str,
               timeout: float = ANSWER_SECONDS) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(StaleElementReferenceException, WebDriverException):
                found = check()
                if found:
                    return found
            time.sleep(0.1)
        raise TimeoutError(f"waited {timeout:.0f} s for {what}")

    def _state(self) -> str:
        """Everything a person sees change: messages, keyboards, pictures, the pop-up."""
        return self.d.execute_script(
            "const m = document.getElementById('messages');"
            "const kb = document.getElementById('reply-kb');"
            "const t = document.getElementById('toast');"
            "const imgs = [...m.querySelectorAll('img')];"
            "const seq = typeof st === 'undefined' ? '' : st.lastAnswer;"
            "return m.querySelectorAll('.msg').length + '|' + m.innerText + '|' + kb.innerText"
            " + '|' + imgs.every((i) => i.complete && i.naturalWidth > 0) + '|' + seq;")

    def _settle(self, before: str | None) -> bool:
        """Wait for the chat to change (when `before` is given), then to stay still; whether
        it changed."""
        changed = True
        if before is not None:
            try:
                self._until(lambda: self._state() != before, "an answer")
            except TimeoutError:
                changed = False
        last, since = self._state(), time.monotonic()
        while time.monotonic() - since < 1.5:
            time.sleep(0.2)
            now = self._state()
            if now != last:
                last, since = now, time.monotonic()
        return changed

    def open(self) -> None:
        self.d.get(self.url)
        self._until(lambda: "@" in self.d.find_element(By.ID, "bot-select").text,
                    "the bot in the web chat", timeout=60)
        self._until(lambda: self.d.find_element(By.ID, "status").text == "connected",
                    "the web chat to connect", timeout=60)

    def as_user(self, user_id: str) -> None:
        Select(self.d.find_element(By.ID, "user-select")).select_by_value(user_id)
        self._until(lambda: self.d.find_element(By.ID, "status").text == "connected",
                    "the chat of user " + user_id)
        self._settle(None)

    def new_user(self, first_name: str, lang: str) -> None:
        self.d.find_element(By.ID, "new-user-name").send_keys(first_name)
        Select(self.d.find_element(By.ID, "new-user-lang")).select_by_visible_text(lang)
        self.d.find_element(By.ID, "new-user-btn").click()
        self._until(lambda: Select(self.d.find_element(By.ID, "user-select"))
                    .first_selected_option.text.startswith(first_name), "the new user")
        self._settle(None)

    def _last_is_bot(self) -> bool:
        return self.d.execute_script(
            "const m = document.querySelectorAll('#messages .msg');"
            "return m.length > 0 && m[m.length - 1].classList.contains('bot');")

    def texts(self, last: int = 1) -> list[str]:
        """The text of the last `last` messages, oldest first."""
        return self.d.execute_script(
            "return [...document.querySelectorAll('#messages .msg')].slice(-arguments[0])"
            ".map((m) => m.innerText);", last)

    def text(self, showing: str = "") -> str:
        """The latest message of the bot (that shows `showing`: a reminder may have come
        after the screen)."""
        return self.d.execute_script(
            "const m = [...document.querySelectorAll('#messages .msg.bot')].reverse()"
            ".find((e) => e.innerText.includes(arguments[0]));"
            "return m ? m.innerText : '';", showing)

    def wait_for(self, text: str, last: int = 3, timeout: float = ANSWER_SECONDS) -> None:
        """Until one of the last messages shows `text` (a screen is the one expected)."""
        try:
            self._until(lambda: any(text in t for t in self.texts(last)), repr(text),
                        timeout=timeout)
        except TimeoutError:
            shown = " / ".join(self.text().splitlines()[:3])
            raise TimeoutError(f"expected {text!r} on screen; the bot's latest message "
                               f"reads: {shown!r}") from None

    def send(self, text: str) -> None:
        """Type a message and wait for the bot's answer (replies are paced per chat)."""
        before = self._state()
        box = self.d.find_element(By.ID, "text-input")
        box.send_keys(text, Keys.ENTER)
        self._until(lambda: self._state() != before and self._last_is_bot(),
                    f"the bot's answer to {text!r}")
        self._settle(None)

    def buttons(self) -> list[str]:
        """The inline buttons of the latest bot message that has any."""
        return self.d.execute_script(
            "const all = [...document.querySelectorAll('#messages .msg.bot')].reverse();"
            "const m = all.find((e) => e.querySelector('.inline-btn'));"
            "return m ? [...m.querySelectorAll('.inline-btn')].map((b) => b.innerText) : [];")

    @staticmethod
    def _fits(label: Label, text: str, exact: bool) -> bool:
        if isinstance(label, re.Pattern):
            return bool(label.search(text))
        return text == label if exact else text.startswith(label)

    def find(self, label: Label):
        """The button `label` (a whole label, else the start of one, or a pattern) on the
        latest message that has it; None when there is none."""
        for message in reversed(self.d.find_elements(By.CSS_SELECTOR, ".msg.bot")):
            buttons = message.find_elements(By.CSS_SELECTOR, ".inline-btn")
            for exact in (True, False):
                for button in buttons:
                    if self._fits(label, button.text, exact):
                        return button
        return None

    def has(self, label: Label) -> bool:
        return self.find(label) is not None

    def press(self, label: Label) -> None:
        """Press a button and wait for what it changes."""
        shown = label.pattern if isinstance(label, re.Pattern) else label
        try:
            button = self._until(lambda: self.find(label), f"a button {shown!r}", timeout=10)
        except TimeoutError:
            raise TimeoutError(f"no button {shown!r}; the buttons are "
                               f"{self.buttons()}") from None
        text = button.text
        before = self._state()
        button.click()
        if not self._settle(before):
            self.quiet.append(f"pressing {text!r} changed nothing on screen in "
                              f"{ANSWER_SECONDS} s")

    def reply_button(self, label: str) -> None:
        button = self._until(
            lambda: next((b for b in self.d.find_elements(By.CSS_SELECTOR, "#reply-kb button")
                          if b.text.startswith(label)), None), f"a keyboard button {label!r}")
        before = self._state()
        button.click()
        self._settle(before)

    def shot(self, path: Path, last: int = 1, containing: str | None = None) -> str:
        """Save the last `last` messages (and the reply keyboard, if any) as a PNG; with
        `containing`, the latest message that shows it and the `last - 1` before it. Returns
        the text on the picture."""
        for _attempt in range(3):
            before = self._state()
            box = self.d.execute_script("""
                const [css, noKb, last, containing] = arguments;
                const all = [...document.querySelectorAll('#messages .msg')];
                let end = all.length;
                if (containing !== null) {
                  end = 0;
                  all.forEach((m, i) => { if (m.innerText.includes(containing)) end = i + 1; });
                }
                const parts = all.slice(Math.max(0, end - last), end);
                parts.forEach((m) => m.classList.add('shot-keep'));
                const kb = document.getElementById('reply-kb');
                // The reply keyboard goes with the latest message only.
                const withKb = end === all.length && kb.innerText.trim() !== ''
                  && getComputedStyle(kb).display !== 'none';
                const style = document.createElement('style');
                style.id = 'shot-css'; style.textContent = css + (withKb ? '' : noKb);
                document.head.appendChild(style);
                const rects = [...parts, ...(withKb ? [kb] : [])]
                  .map((e) => e.getBoundingClientRect());
                return [Math.min(...rects.map((r) => r.top)),
                        Math.max(...rects.map((r) => r.bottom)), window.devicePixelRatio,
                        window.innerHeight, parts.map((m) => m.innerText).join('\\n'),
                        parts.length];
            """, SHOT_CSS, SHOT_CSS_NO_KEYBOARD, last, containing)
            top, bottom, scale, inner, text, count = box
            if not count:
                self._unshot()
                raise RuntimeError(f"no message shows {containing!r}")
            grown = bottom + 16 > inner
            if grown:  # a long screen: a taller window for this one shot
                self.d.set_window_size(WIDTH, HEIGHT + int(bottom - inner) + 100)
            time.sleep(0.3)
            png = Image.open(io.BytesIO(self.d.get_screenshot_as_png())).convert("RGB")
            if grown:
                self.d.set_window_size(WIDTH, HEIGHT)
            self._unshot()
            if self._state() != before:  # the chat changed meanwhile: take it again
                self._settle(None)
                continue
            crop = png.crop((0, max(0, int((top - 8) * scale)), png.width,
                             min(png.height, int((bottom + 8) * scale))))
            path.parent.mkdir(parents=True, exist_ok=True)
            crop.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
            return text
        raise RuntimeError("the chat kept changing while its picture was taken")

    def _unshot(self) -> None:
        self.d.execute_script(
            "const s = document.getElementById('shot-css'); if (s) s.remove();"
            "document.querySelectorAll('.shot-keep')"
            ".forEach((m) => m.classList.remove('shot-keep'));")


# -- the tour --------------------------------------------------------------------------------

class Failure(NamedTuple):
    part: str
    screen: str | None
    error: str


class Tour:
    """Parts of the tour, each a run of screens; a failing part is recorded and the next one
    runs."""

    def __init__(self, chat: Chat, out: Path, timezone: str) -> None:
        self.chat = chat
        self.out = out
        self.zone = ZoneInfo(timezone)
        self.words = {lang: Words(lang) for lang in ("en", "ru")}
        self.w = self.words["en"]
        self.saved: list[Path] = []
        self.failures: list[Failure] = []
        self.notes: list[str] = []
        self.part = ""
        self.current: str | None = None
        self.soon: datetime | None = None  # the class the admin schedules for trainers' marks

    def now(self) -> datetime:
        return datetime.now(self.zone)

    @contextlib.contextmanager
    def screen(self, name: str, expect: str | None = None, *, last: int = 1,
               containing: str | None = None) -> Iterator[None]:
        """The block leads to the screen `name`; then it is checked to show `expect` and its
        picture is taken: the latest message showing `containing` (else `expect`, else the
        latest message) and the `last - 1` messages before it."""
        self.current = name
        quiet = len(self.chat.quiet)
        yield
        if expect is not None:
            self.chat.wait_for(expect, last=max(last, 3) if containing is None else 12)
        path = self.out / f"{name}.png"
        shown = self.chat.shot(path, last=last, containing=containing or expect)
        self.saved.append(path)
        say(f"saved {path.relative_to(self.out)}")
        for lang in self.words.values():
            if lang("error_generic") in shown:
                self.failures.append(Failure(self.part, name, "the screen says: "
                                             + lang("error_generic")))
        for line in self.chat.quiet[quiet:]:
            self.notes.append(f"{name}: {line}")

    def run(self, name: str, part: Callable[..., None], *args: object) -> None:
        self.part, self.current = name, None
        say(f"part {name}")
        try:
            part(self, *args)
        except Exception as exc:  # recorded, and the tour goes on
            where = self.current or "(before its first screen)"
            error = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):  # what was on screen, to see why
                seen = FAILED / f"{name}.png"
                self.chat.shot(seen, last=3)
                error += f" (the chat then: {seen})"
            self.failures.append(Failure(name, where, error))
            say(f"FAILED in part {name} at {where}: {error}")
            with contextlib.suppress(Exception):
                self.chat.open()  # a fresh page for the next part


# -- parts: members --------------------------------------------------------------------------

def overview(t: Tour) -> None:
    """The web chat as the demo opens it, with its user and bot pickers."""
    chat = t.chat
    t.out.mkdir(parents=True, exist_ok=True)
    t.current = "webchat"
    chat.d.set_window_size(900, 640)
    try:
        chat.as_user(YOU)
        chat.send("/start")
        chat.wait_for(t.w.start("menu_title"))
        png = Image.open(io.BytesIO(chat.d.get_screenshot_as_png())).convert("RGB")
        path = t.out / "webchat.png"
        png.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        t.saved.append(path)
        say(f"saved {path.name}")
    finally:
        chat.d.set_window_size(WIDTH, HEIGHT)


def newcomer(t: Tour, lang: str, name: str) -> None:
    """Someone new registers (a name that is no name first), then asks for a plan."""
    chat, w = t.chat, t.words[lang]
    t.w = w
    to = "" if lang == "en" else f"{lang}/"
    chat.new_user(name, lang)
    with t.screen(f"{to}member-register-name", w.piece("reg_ask_name"), last=2):
        chat.send("/start")
    with t.screen(f"{to}member-register-name-refused", w.piece("reg_name_no_letter"), last=2):
        chat.send("😀")
    with t.screen(f"{to}member-register-phone", w.start("reg_ask_phone"), last=2):
        chat.reply_button(name)
    with t.screen(f"{to}member-register-done", w.start("reg_done"), last=2,
                  containing=w("menu_schedule")):
        chat.reply_button(w("reg_phone_button"))
    with t.screen(f"{to}member-membership-plans", w.piece("membership_none")):
        chat.press(w("menu_membership"))
    with t.screen(f"{to}member-membership-requested", w.start("plan_request_pending")):
        chat.press(w.start("plan_request_button"))


def _open_soon_day(t: Tour) -> None:
    """/schedule, on the day of the class the admin scheduled to start soon."""
    t.chat.send("/schedule")
    if t.soon is not None and t.soon.date() != t.now().date():
        t.chat.press(t.w.start("timetable_next", day=t.w.date(t.soon.date())))


def _book_a_class(t: Tour, first: str) -> None:
    """From the timetable: the class starting soon, else the first one that can be booked;
    its details (`first`), then booked (`first`-booked)."""
    chat, w = t.chat, t.w
    soon = t.soon.strftime("%H:%M ") if t.soon else None
    with t.screen(first, w.piece("class_trainer")):
        _open_soon_day(t)
        if soon and chat.has(soon):
            chat.press(soon)
        else:
            chat.press(re.compile(r"^\d\d:\d\d [^✅⏳]*$"))
    if not chat.has(w("button_book")):
        raise RuntimeError("the class offers no " + w("button_book"))
    with t.screen(f"{first}-booked", w("class_you_booked")):
        chat.press(w("button_book"))


def _class_line(t: Tour, text: str, places: re.Pattern[str]) -> str | None:
    """The start of the first class on a timetable page whose places line fits `places`."""
    lines = text.splitlines()
    for line, below in itertools.pairwise(lines):
        start = re.match(r"\s*(\d\d:\d\d)\b", line)
        booked = below.rstrip().endswith("✅")  # the member is booked on it already
        if start and not booked and places.search(below.strip().rstrip(" ⏳")):
            return start.group(1)
    return None


def member(t: Tour, lang: str, user_id: str) -> None:
    """A member with a membership: the menu, help and the timetable."""
    chat, w = t.chat, t.words[lang]
    t.w = w
    to = "" if lang == "en" else f"{lang}/"
    chat.as_user(user_id)
    with t.screen(f"{to}member-menu", w("menu_schedule")):
        chat.send("/start")
    with t.screen(f"{to}member-help", w.piece("help_member")):
        chat.press(w("menu_help"))
    with t.screen(f"{to}member-timetable", w.start("timetable_title")):
        chat.send("/schedule")


def member_booking(t: Tour, lang: str, user_id: str) -> None:
    """Booking, the waitlist, My bookings and its cancellations."""
    chat, w = t.chat, t.words[lang]
    t.w = w
    to = "" if lang == "en" else f"{lang}/"
    chat.as_user(user_id)
    # A class starting soon: booking it, and later the cancellation that costs the visit.
    _book_a_class(t, f"{to}member-class")
    # A class tomorrow: booked, then cancelled from My bookings with the visit back.
    chat.send("/schedule")
    tomorrow = t.now().date() + timedelta(days=1)
    chat.press(w.start("timetable_next", day=w.date(tomorrow)))
    chat.press(re.compile(r"^\d\d:\d\d [^✅⏳]*$"))
    chat.press(w("button_book"))
    chat.wait_for(w("class_you_booked"))
    later = tomorrow
    # A full class: the waitlist.
    full = w.pattern("class_full_waitlist", whole=False)
    with t.screen(f"{to}member-waitlist", w.piece("class_your_position")):
        chat.send("/schedule")
        for _ in range(7):
            found = _class_line(t, chat.text(w.start("timetable_title")), full)
            if found:
                chat.press(found)
                break
            chat.press(w.pattern("timetable_next"))
        else:
            raise RuntimeError("no full class in the next 7 days")
        if chat.has(w("button_join_waitlist")):
            chat.press(w("button_join_waitlist"))
    with t.screen(f"{to}member-bookings", w.piece("bookings_title")):
        chat.send("/bookings")
    with t.screen(f"{to}member-bookings-cancel", w("button_cancel_yes")):
        chat.press(w.start("button_cancel_item", when=w.date(later)))
    with t.screen(f"{to}member-bookings-cancelled", w.piece("bookings_title")):
        chat.press(w("button_cancel_yes"))
    if t.soon is not None and chat.has(w.start("button_cancel_item", when=w.date(t.soon))):
        with t.screen(f"{to}member-bookings-cancel-late", w("button_cancel_yes")):
            chat.press(w.start("button_cancel_item", when=f"{w.date(t.soon)} "
                                                          f"{t.soon:%H:%M}"))
        chat.press(w("button_cancel_keep"))  # kept: the trainer marks it


def member_account(t: Tour, lang: str, user_id: str) -> None:
    """Membership, card, activity, settings, language and privacy."""
    chat, w = t.chat, t.words[lang]
    t.w = w
    to = "" if lang == "en" else f"{lang}/"
    chat.as_user(user_id)
    with t.screen(f"{to}member-membership", w.piece("membership_title")):
        chat.send("/membership")
    with t.screen(f"{to}member-card", w.piece("card_caption")):
        chat.send("/card")
    with t.screen(f"{to}member-activity", w.piece("activity_title")):
        chat.send("/activity")
    with t.screen(f"{to}member-settings", w.piece("settings_text")):
        chat.send("/settings")
    with t.screen(f"{to}member-language", w("language_choose")):
        chat.send("/language")
    with t.screen(f"{to}member-privacy", w("privacy_delete_button")):
        chat.send("/privacy")
    with t.screen(f"{to}member-privacy-copy", w.start("privacy_copy_caption"), last=2):
        chat.press(w("privacy_copy_button"))
    with t.screen(f"{to}member-privacy-delete", w("privacy_confirm_button")):
        chat.send("/privacy")
        chat.press(w("privacy_delete_button"))
    chat.press(w("privacy_keep_button"))


def member_pay(t: Tour, lang: str, user_id: str) -> None:
    """Paying in the chat (a demo with its test provider): Membership with Renew, the invoice
    below it, Pay in the web chat, the paid message."""
    chat, w = t.chat, t.words[lang]
    t.w = w
    to = "" if lang == "en" else f"{lang}/"
    chat.as_user(user_id)
    plan_button = re.compile(f"{w.pattern('pay_renew_button').pattern}|"
                             f"{w.pattern('pay_buy_button').pattern}")
    with t.screen(f"{to}member-membership-pay", w.piece("membership_title")):
        chat.send("/membership")
    with t.screen(f"{to}member-invoice", w.start("pay_invoice_below"), last=2):
        chat.press(plan_button)
    with t.screen(f"{to}member-paid", w.start("pay_paid"), last=2):
        chat.press("Pay")


def member_after(t: Tour, lang: str, user_id: str) -> None:
    """The newcomer once the admin granted a plan: Maria's freeze is planned, then she deletes
    her data; Вера's membership starts next week, so booking a class now is refused."""
    chat, w = t.chat, t.words[lang]
    t.w = w
    to = "" if lang == "en" else f"{lang}/"
    chat.as_user(user_id)
    if lang == "en":
        with t.screen(f"{to}member-membership-freeze-planned",
                      w.start("membership_freeze_planned")):
            chat.send("/membership")
        with t.screen(f"{to}member-privacy-deleted", w.piece("privacy_deleted")):
            chat.send("/privacy")
            chat.press(w("privacy_delete_button"))
            chat.press(w("privacy_confirm_button"))
        return
    with t.screen(f"{to}member-membership-upcoming", w.start("status_starts_on")):
        chat.send("/membership")
    # A class before the membership starts: its details say why, and offer no Book.
    with t.screen(f"{to}member-booking-refused", w.start("refusal_not_started_on")):
        chat.send("/schedule")
        chat.press(re.compile(r"^\d\d:\d\d [^✅⏳]*$"))
    if chat.has(w("button_book")):
        raise RuntimeError("the class offers " + w("button_book") + " the membership cannot pay")


# -- parts: trainers -------------------------------------------------------------------------

def trainer(t: Tour) -> None:
    """Anna Petrova: the staff home and help, check-in by name and by code, her classes, a
    roster and its marks."""
    chat, w = t.chat, t.words["en"]
    t.w = w
    chat.as_user(JAMES)  # his card's code, for the check-in by code below
    chat.send("/card")
    code = re.search(r"\b(\d{3} \d{3})\b", chat.text())
    chat.as_user(ANNA)
    with t.screen("trainer-home", w.start("staff_home_trainer")):
        chat.send("/staff")
    with t.screen("trainer-help", w.piece("help_trainer")):
        chat.send("/help")
        chat.press(w("help_staff_button"))
    with t.screen("trainer-checkin", w.piece("chk_ask")):
        chat.send("/checkin")
    with t.screen("trainer-checkin-found", w.start("chk_found"), last=2):
        chat.send("Sofia")
    with t.screen("trainer-checkin-member", w.start("chk_confirm_button")):
        chat.press("Sofia")
    with t.screen("trainer-checkin-done", w("chk_next")):
        chat.press(w.start("chk_confirm_button"))
    if code is None:
        raise RuntimeError("James's card shows no 6-digit code")
    with t.screen("trainer-checkin-code", w("chk_next"), last=2):
        chat.press(w("chk_next"))
        chat.send(code.group(1))
    with t.screen("trainer-myclasses", w.piece("mc_title")):
        chat.send("/myclasses")
    soon = (w.start("mc_button", day=w.date(t.soon), time=f"{t.soon:%H:%M}")
            if t.soon else None)
    with t.screen("trainer-roster", w.piece("mc_booked_header")):
        if soon and chat.has(soon):
            chat.press(soon)
        else:
            chat.press(re.compile(r" · [1-9]\d*/\d+$"))
    if not chat.has(w.start("mc_button_attended")):
        raise RuntimeError("the roster offers no marks now: " + chat.text().splitlines()[4])
    with t.screen("trainer-roster-marked", w("mc_mark_attended")):
        chat.press(w.start("mc_button_attended"))


# -- parts: admins ---------------------------------------------------------------------------

def admin_home(t: Tour) -> None:
    chat, w = t.chat, t.words["en"]
    t.w = w
    chat.as_user(YOU)
    with t.screen("admin-home", w.start("staff_home_admin")):
        chat.send("/staff")
    with t.screen("admin-help", w.piece("help_admin")):
        chat.send("/help")
        chat.press(w("help_staff_button"))


def admin_people(t: Tour) -> None:
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    with t.screen("admin-people", w.piece("ppl_ask")):
        chat.send("/people")
    with t.screen("admin-people-found", w.start("ppl_found"), last=2):
        chat.send("James")
    with t.screen("admin-people-card", w("ppl_make_trainer")):
        chat.press("James")
    with t.screen("admin-people-confirm", w("ppl_confirm_yes_trainer")):
        chat.press(w("ppl_make_trainer"))
    chat.press(w("ppl_back"))


def walk(t: Tour, prefix: str, steps: dict[str, tuple[str, Callable[[], None]]],
         end: str, limit: int = 14) -> None:
    """A guided flow: answer each question it asks (found by the catalog text of its key in
    `steps`: the picture's name and the answer), until `end` shows."""
    chat, w = t.chat, t.w
    for _ in range(limit):
        text = chat.text()
        if w.piece(end) in text:
            return
        key = next((k for k in steps if w.piece(k) in text), None)
        if key is None:
            t.current = f"{prefix}-?"
            raise RuntimeError("a step the tour does not know: "
                               + " / ".join(text.splitlines()[:4]))
        name, answer = steps.pop(key)
        with t.screen(f"{prefix}-{name}", w.piece(key)):
            pass
        answer()
    raise RuntimeError(f"the flow did not end within {limit} steps")


def admin_types(t: Tour) -> None:
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    with t.screen("admin-types", w.piece("ctype_list_title")):
        chat.send("/staff")
        chat.press(w("staff_types"))
    with t.screen("admin-type", w("ctype_edit_dur")):
        chat.press(chat.buttons()[0])
    chat.press(w("ctype_back_to_list"))
    chat.press(w("ctype_new_button"))
    walk(t, "admin-type-new", {
        "ctype_ask_name": ("name", lambda: chat.send(NEW_TYPE["en"])),
        "ctype_ask_name_tr": ("name-translation", lambda: chat.send(NEW_TYPE["ru"])),
        "ctype_ask_desc": ("description", lambda: chat.send(
            "Pads, bags and footwork for every level; gloves are lent.")),
        "ctype_ask_desc_tr": ("description-translation", lambda: chat.send(
            "Лапы, мешки и работа ног для любого уровня; перчатки выдаём.")),
        "ctype_ask_dur": ("length", lambda: chat.press(w("ctype_minutes", 60))),
        "ctype_ask_cap": ("places", lambda: chat.press(w("ctype_places", 10))),
    }, end="ctype_confirm_title")
    with t.screen("admin-type-new-confirm", w.piece("ctype_confirm_title")):
        pass
    with t.screen("admin-type-created", w("ctype_created")):
        chat.press(w("ctype_save"))


def admin_planner(t: Tour) -> None:
    """A class of the new type with Anna, starting in 25 to 30 minutes: members book it and
    Anna marks it (marks open half an hour before the start)."""
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    now = t.now()
    start = now + timedelta(minutes=25 + (5 - now.minute % 5) % 5)
    start = start.replace(second=0, microsecond=0)

    def weekly() -> None:
        with t.screen("admin-planner-weekly", w.start("cls_ask_series")):
            chat.press(w("cls_weekly_button"))
        chat.press(w("cls_once_button"))

    with t.screen("admin-classes", w.start("cls_day_title")):
        chat.send("/classes")
    chat.press(w("cls_new_button"))
    walk(t, "admin-planner", {
        "cls_ask_type": ("type", lambda: chat.press(
            NEW_TYPE["en"] if chat.has(NEW_TYPE["en"]) else chat.buttons()[0])),
        "cls_ask_trainer": ("trainer", lambda: chat.press("Anna Petrova")),
        "cls_ask_day": ("day", lambda: chat.send(f"{start:%d.%m.%Y}")),
        "cls_ask_repeat": ("repeat", weekly),
        "cls_ask_time": ("time", lambda: chat.send(f"{start:%H:%M}")),
        "cls_ask_duration": ("length", lambda: chat.press(chat.buttons()[0])),
        "cls_ask_capacity": ("places", lambda: chat.press(chat.buttons()[0])),
        "cls_ask_room": ("room", lambda: chat.send("Ring")),
    }, end="cls_confirm_ok")
    with t.screen("admin-planner-confirm", w("cls_confirm_ok")):
        pass
    with t.screen("admin-planner-done", w.start("cls_done_one")):
        chat.press(w("cls_confirm_ok"))
    t.soon = start


def admin_classes(t: Tour) -> None:
    """A class with bookings tomorrow: its card, capacity, move (to the day after, same
    time) and cancel, each left at its confirmation."""
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    tomorrow = t.now().date() + timedelta(days=1)
    chat.send("/classes")
    chat.press(w.start("timetable_next", day=w.date(tomorrow)))
    with t.screen("admin-class", w("cls_move_button")):
        chat.press(re.compile(r" · [1-9]\d*/\d+$"))
    with t.screen("admin-class-capacity", w.piece("cls_capacity_ask")):
        chat.press(w("cls_capacity_button"))
    chat.press(w("button_back"))
    with t.screen("admin-class-move", w("cls_move_ask_day")):
        chat.press(w("cls_move_button"))
    with t.screen("admin-class-move-time", w.piece("cls_move_ask_time")):
        chat.press(w.date(tomorrow + timedelta(days=1)))
    with t.screen("admin-class-move-confirm", w("cls_move_ok")):
        chat.press(w.start("cls_move_same_time"))
    chat.press(w("button_back"))
    if not chat.has(w("cls_cancel_button")):
        chat.press(w("button_back"))
    with t.screen("admin-class-cancel", w("cls_cancel_ok")):
        chat.press(w("cls_cancel_button"))
    chat.press(w("cls_cancel_keep"))


def admin_plans(t: Tour) -> None:
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    with t.screen("admin-plans", w.piece("pl_title")):
        chat.send("/plans")
    with t.screen("admin-plan", w("pl_button_edit_price")):
        chat.press(w.start("pl_button_plan"))
    chat.press(w("pl_button_back"))
    chat.press(w("pl_button_new"))
    walk(t, "admin-plan-new", {
        "pl_ask_name": ("name", lambda: chat.send(NEW_PLAN["en"])),
        "pl_ask_name_tr": ("name-translation", lambda: chat.send(NEW_PLAN["ru"])),
        "pl_ask_price": ("price", lambda: chat.send("99")),
        "pl_ask_days": ("length", lambda: chat.send("90")),
        "pl_ask_visits": ("visits", lambda: chat.send("24")),
        "pl_ask_freeze": ("freeze", lambda: chat.send("14")),
    }, end="pl_button_create")
    with t.screen("admin-plan-new-confirm", w("pl_button_create")):
        pass
    with t.screen("admin-plan-created", w.start("pl_created")):
        chat.press(w("pl_button_create"))


def admin_requests(t: Tour) -> None:
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    with t.screen("admin-requests", w.start("mbr_requests_title")):
        chat.send("/staff")
        chat.press(w("staff_requests"))


def admin_members(t: Tour) -> None:
    """Maria (who asked for a plan): her card, a plan granted from today, extend, a freeze
    from a typed date."""
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    today = t.now().date()
    with t.screen("admin-members", w.piece("mbr_search_prompt")):
        chat.send("/members")
    with t.screen("admin-members-found", w.start("mbr_search_results"), last=2):
        chat.send("Maria")
    with t.screen("admin-member-card", w.start("mbr_card_request")):
        chat.press("Maria")
    with t.screen("admin-member-grant", w.start("mbr_plan_button")):
        chat.press(w("mbr_button_grant"))
    with t.screen("admin-member-grant-start", w("mbr_grant_when")):
        chat.press(NEW_PLAN["en"])
    with t.screen("admin-member-grant-confirm", w("mbr_button_confirm")):
        chat.press(w.start("mbr_button_today"))
    with t.screen("admin-member-granted", w.start("mbr_granted")):
        chat.press(w("mbr_button_confirm"))
    with t.screen("admin-member-extend", w.start("mbr_plan_button")):
        chat.press(w("mbr_button_extend"))
    with t.screen("admin-member-extend-confirm", w("mbr_button_confirm")):
        chat.press(chat.buttons()[0])
    chat.press(w("mbr_button_card"))
    with t.screen("admin-member-freeze", w("mbr_button_cancel_step")):
        chat.press(w("mbr_button_freeze"))
    with t.screen("admin-member-freeze-start", w("mbr_button_other_date")):
        chat.press(chat.buttons()[0])
    with t.screen("admin-member-freeze-date", w.start("mbr_ask_freeze_start")):
        chat.press(w("mbr_button_other_date"))
    with t.screen("admin-member-freeze-confirm", w("mbr_button_confirm"), last=2):
        chat.send(f"{today + timedelta(days=14):%d.%m.%Y}")
    with t.screen("admin-member-frozen", w.start("mbr_card_freeze_planned")):
        chat.press(w("mbr_button_confirm"))


def admin_members_more(t: Tour) -> None:
    """Maria's visits with a reason and a note; Вера gets a plan from next week."""
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    today = t.now().date()
    if not chat.text().startswith(w.start("mbr_card_title", name="Maria")):
        chat.send("/members")
        chat.send("Maria")
        chat.press("Maria")
    with t.screen("admin-member-adjust", w("mbr_button_cancel_step")):
        chat.press(w("mbr_button_adjust"))
    with t.screen("admin-member-adjust-reason", w.start("mbr_ask_reason"), last=2):
        chat.send("+2")
    with t.screen("admin-member-adjusted", w.piece("mbr_card_visits"), last=2):
        chat.send("Two visits for bringing a friend")
    with t.screen("admin-member-note", w("mbr_button_cancel_step")):
        chat.press(w("mbr_button_note"))
    with t.screen("admin-member-noted", "knee", last=2):
        chat.send("Prefers evening classes; mind her left knee.")
    chat.press(w("mbr_button_find"))
    chat.send("Вера")
    chat.press("Вера")
    chat.press(w("mbr_button_grant"))
    chat.press(chat.buttons()[0])
    with t.screen("admin-member-grant-date", w.start("mbr_ask_start")):
        chat.press(w("mbr_button_other_date"))
    with t.screen("admin-member-grant-later", w("mbr_button_confirm"), last=2):
        chat.send(f"{today + timedelta(days=7):%d.%m.%Y}")
    with t.screen("admin-member-granted-later", w.start("mbr_granted")):
        chat.press(w("mbr_button_confirm"))


def admin_announce(t: Tour) -> None:
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    with t.screen("admin-announce", w.piece("ann_compose")):
        chat.send("/announce")
    with t.screen("admin-announce-audience", w.piece("ann_audience_title"), last=2):
        chat.send("Saturday's yoga moves to the big hall. See you there! 🧘")
    with t.screen("admin-announce-class", w.piece("ann_classes_title")):
        chat.press(w("ann_audience_class_button"))
    chat.press(w("ann_change_audience"))
    with t.screen("admin-announce-expiring", w.piece("ann_expiring_title")):
        chat.press(w("ann_audience_expiring_button"))
    chat.press(w("ann_change_audience"))
    with t.screen("admin-announce-confirm", w.start("ann_send_button", 2)):
        chat.press(w("ann_audience_active_button"))
    with t.screen("admin-announce-progress", w("ann_state_done"),
                  containing=w.start("ann_progress_title")):
        chat.press(w.start("ann_send_button", 2))
        time.sleep(3)


def admin_reports(t: Tour) -> None:
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    with t.screen("admin-report", w.start("rep_title")):
        chat.send("/report")
    with t.screen("admin-report-chart", w.start("rep_chart_caption")):
        chat.press(w("rep_button_chart"))
    with t.screen("admin-report-expiring", containing=w.start("rep_expiring_title")):
        chat.press(w.start("rep_button_expiring"))
    chat.press(w("rep_button_back"))
    with t.screen("admin-report-export", w.start("rep_export_caption")):
        chat.press(w("rep_button_export_members"))


def admin_audit(t: Tour) -> None:
    chat, w = t.chat, t.w
    chat.as_user(YOU)
    with t.screen("admin-audit", w.start("aud_title")):
        chat.send("/audit")
    with t.screen("admin-audit-filter", w.piece("aud_ask")):
        chat.press(w("aud_filter"))
    with t.screen("admin-audit-found", "Maria", last=2):
        chat.send("Maria")
    with t.screen("admin-audit-member", w.start("aud_filtered")):
        chat.press("Maria")


# -- the whole tour --------------------------------------------------------------------------

PARTS: list[tuple[str, Callable[..., None], tuple]] = [
    ("overview", overview, ()),
    ("member-register", newcomer, ("en", "Maria")),
    ("ru-member-register", newcomer, ("ru", "Вера")),
    ("admin-home", admin_home, ()),
    ("admin-people", admin_people, ()),
    ("admin-types", admin_types, ()),
    ("admin-planner", admin_planner, ()),
    ("admin-classes", admin_classes, ()),
    ("admin-plans", admin_plans, ()),
    ("admin-requests", admin_requests, ()),
    ("admin-members", admin_members, ()),
    ("admin-members-more", admin_members_more, ()),
    ("member", member, ("en", EMMA)),
    ("member-booking", member_booking, ("en", EMMA)),
    ("member-account", member_account, ("en", EMMA)),
    ("trainer", trainer, ()),
    ("admin-announce", admin_announce, ()),
    ("admin-reports", admin_reports, ()),
    ("admin-audit", admin_audit, ()),
    ("member-after-grant", member_after, ("en", None)),
    ("ru-member", member, ("ru", DMITRY)),
    ("ru-member-booking", member_booking, ("ru", DMITRY)),
    ("ru-member-account", member_account, ("ru", DMITRY)),
    ("ru-member-after-grant", member_after, ("ru", None)),
]


def admin_payments(t: Tour) -> None:
    """The payments report once members have paid in the chat (the paying demo)."""
    chat, w = t.chat, t.words["en"]
    t.w = w
    chat.as_user(YOU)
    chat.send("/report")
    with t.screen("admin-report-payments", w.start("pmt_rep_title")):
        chat.press(w("rep_button_payments"))


#: Parts run on a second demo with payments on (the first runs without, so the members' plan
#: requests and the admins' granting show as a club without a provider has them).
PAY_PARTS: list[tuple[str, Callable[..., None], tuple]] = [
    ("member-pay", member_pay, ("en", EMMA)),
    ("ru-member-pay", member_pay, ("ru", DMITRY)),
    ("admin-pay", admin_payments, ()),
]


def _user_of(chat: Chat, first_name: str) -> str | None:
    """The web chat's id of the user with this first name (a newcomer of this run)."""
    for option in Select(chat.d.find_element(By.ID, "user-select")).options:
        if option.text.startswith(first_name + " ("):
            return option.get_attribute("value")
    return None


def tour(chat: Chat, out: Path, timezone: str, only: list[str],
         parts: list[tuple[str, Callable[..., None], tuple]] | None = None,
         t: Tour | None = None) -> Tour:
    t = t or Tour(chat, out, timezone)
    t.chat = chat
    chat.open()
    for name, part, given in PARTS if parts is None else parts:
        if only and not any(word in name for word in only):
            continue
        args = given
        if part is member_after:  # the newcomer of the same language
            user = _user_of(chat, "Maria" if given[0] == "en" else "Вера")
            if user is None:
                t.failures.append(Failure(name, None, "the newcomer is not in the web chat"))
                continue
            args = (given[0], user)
        t.run(name, part, *args)
    return t


def report(t: Tour, before: set[Path], seconds: float) -> int:
    kb = sum(p.stat().st_size for p in t.saved if p.exists()) // 1024
    say(f"{len(t.saved)} screenshots, {kb} KB in all, in {t.out} ({seconds:.0f} s)")
    for note in t.notes:
        say(f"note: {note}")
    stale = sorted(before - set(t.saved))
    if stale:
        say("not refreshed by this run: " + ", ".join(
            str(p.relative_to(t.out)) for p in stale))
    if not t.failures:
        return 0
    say(f"{len(t.failures)} part(s) failed:")
    for failure in t.failures:
        say(f"  {failure.part}, at {failure.screen}: {failure.error}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[],
                        help="run only the parts whose name contains one of these words")
    parser.add_argument("--url", help="the web chat of a demo already running (not stopped)")
    parser.add_argument("--timezone", default=None,
                        help="the club's time zone with --url (default: this machine's)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the PNGs go")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as for Ctrl-C
    try:  # chromium, its driver and the emoji font, installed with apt-get when missing
        binary = browser_tools.ensure(fonts=True)
    except browser_tools.InstallError as exc:
        say(str(exc))
        return 2
    out = args.out.resolve()
    before = {p for p in out.rglob("*.png")}
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        driver = stack.enter_context(browser(binary))
        if args.url:
            from fitclub.demo import _local_timezone  # only for --url
            running = Demo(args.url, args.timezone or _local_timezone())
            t = tour(Chat(driver, running.url), out, running.timezone, args.only,
                     PARTS + PAY_PARTS)
        else:
            with demo(free_port()) as running:
                t = tour(Chat(driver, running.url), out, running.timezone, args.only)
            if not args.only or any(w in name for name, _, _ in PAY_PARTS for w in args.only):
                with demo(free_port(), payments=True) as running:
                    t = tour(Chat(driver, running.url), out, running.timezone, args.only,
                             PAY_PARTS, t)
    return report(t, before, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
