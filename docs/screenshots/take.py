"""Screenshots of the web chat for docs/user-guide.md: `make screenshots`.

Starts the demo the way `make demo` does (`python bot.py demo --port P`: a throwaway
PostgreSQL, tgemu with its web chat, the bot), drives the web chat in headless Chromium as the
admin "You", as the trainer Anna Petrova and as a new user, and saves one PNG per screen the
guide shows into this folder, cropped to the messages on show. Everything it started (the demo
and the browser) is stopped by process id, also when a step fails.

Needs Debian's chromium, chromium-driver and fonts-noto-color-emoji (emoji are boxes without
it); run as root, it installs what is missing with apt-get.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
from tools import browser as browser_tools  # noqa: E402 - the checkout's root is on the path now

WIDTH, HEIGHT = 420, 900  # a phone; a taller screen grows the window for its shot, all are cropped
YOU, ANNA = "1000", "900001"  # the demo's admin "You" and trainer Anna Petrova
# Shown messages get a phone-like width; the page's own controls are hidden.
SHOT_CSS = """
header, footer, #toast { display: none !important; }
#messages { flex: none !important; overflow: visible !important; }
.msg { max-width: 94% !important; }
#messages > *:not(:nth-last-child(-n+LAST)) { display: none !important; }
"""


def say(text: str) -> None:
    sys.stderr.write(f"screenshots: {text}\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def demo(port: int) -> Iterator[str]:
    """`python bot.py demo --port P` until the block ends; yields the web chat's address."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_LEVEL")}
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
        seen = []
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
            if "FitClub demo is running." in line:
                break
        say(f"demo running on port {port} (pid {proc.pid})")
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
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


@contextlib.contextmanager
def browser(binary: str) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile, a phone's width."""
    profile = tempfile.mkdtemp(prefix="fitclub-shots-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(browser_tools.CHROMEDRIVER), options=options)
    try:
        driver.set_window_size(WIDTH, HEIGHT)
        yield driver
    finally:
        driver.quit()  # ends chromedriver and the browser it started
        shutil.rmtree(profile, ignore_errors=True)


class Chat:
    """The web chat, driven like a person would: pick a user, type, press buttons."""

    def __init__(self, driver: webdriver.Chrome, url: str) -> None:
        self.d = driver
        self.url = url
        self.saved: list[Path] = []

    def _until(self, check: Callable[[], object], what: str, timeout: float = 30) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(StaleElementReferenceException, WebDriverException):
                found = check()
                if found:
                    return found
            time.sleep(0.1)
        raise TimeoutError(f"waited {timeout:.0f} s for {what}")

    def _state(self) -> str:
        return self.d.execute_script(
            "const m = document.getElementById('messages');"
            "const kb = document.getElementById('reply-kb');"
            "const imgs = [...m.querySelectorAll('img')];"
            "return m.querySelectorAll('.msg').length + '|' + m.innerText + '|' + kb.innerText"
            " + '|' + imgs.every((i) => i.complete && i.naturalWidth > 0);")

    def _settle(self, before: str | None) -> None:
        """Wait for the chat to change (when `before` is given), then to stay still."""
        if before is not None:
            with contextlib.suppress(TimeoutError):
                self._until(lambda: self._state() != before, "an answer", timeout=20)
        last, since = self._state(), time.monotonic()
        while time.monotonic() - since < 1.5:
            time.sleep(0.2)
            now = self._state()
            if now != last:
                last, since = now, time.monotonic()

    def open(self) -> None:
        self.d.get(self.url)
        self._until(lambda: "@" in self.d.find_element(By.ID, "bot-select").text,
                    "the bot in the web chat")
        self._until(lambda: self.d.find_element(By.ID, "status").text == "connected",
                    "the web chat to connect")

    def as_user(self, user_id: str) -> None:
        Select(self.d.find_element(By.ID, "user-select")).select_by_value(user_id)
        self._until(lambda: self.d.find_element(By.ID, "status").text == "connected",
                    "the chat of user " + user_id)
        self._settle(None)

    def new_user(self, first_name: str) -> None:
        self.d.find_element(By.ID, "new-user-name").send_keys(first_name)
        self.d.find_element(By.ID, "new-user-btn").click()
        self._until(lambda: Select(self.d.find_element(By.ID, "user-select"))
                    .first_selected_option.text.startswith(first_name), "the new user")
        self._settle(None)

    def _last_is_bot(self) -> bool:
        return self.d.execute_script(
            "const m = document.querySelectorAll('#messages .msg');"
            "return m.length > 0 && m[m.length - 1].classList.contains('bot');")

    def send(self, text: str) -> None:
        """Type a message and wait for the bot's answer (replies are paced per chat)."""
        before = self._state()
        self.d.find_element(By.ID, "text-input").send_keys(text, Keys.ENTER)
        self._until(lambda: self._state() != before and self._last_is_bot(), "the bot's answer")
        self._settle(None)

    def press(self, label: str) -> None:
        """Press the inline button starting with `label` on the latest message that has one."""
        def find():
            for message in reversed(self.d.find_elements(By.CSS_SELECTOR, ".msg.bot")):
                for button in message.find_elements(By.CSS_SELECTOR, ".inline-btn"):
                    if button.text.startswith(label):
                        return button
            return None

        button = self._until(find, f"a button {label!r}")
        before = self._state()
        button.click()
        self._settle(before)

    def has_text(self, text: str) -> bool:
        return text in self.d.find_element(By.ID, "messages").text

    def reply_button(self, label: str) -> None:
        button = self._until(
            lambda: next((b for b in self.d.find_elements(By.CSS_SELECTOR, "#reply-kb button")
                          if b.text.startswith(label)), None), f"a keyboard button {label!r}")
        before = self._state()
        button.click()
        self._settle(before)

    def shot(self, name: str, last: int = 1) -> None:
        """Save the last `last` messages (and the reply keyboard, if any) as name.png."""
        box = self.d.execute_script("""
            const css = arguments[0], last = arguments[1];
            const style = document.createElement('style');
            style.id = 'shot-css'; style.textContent = css; document.head.appendChild(style);
            const all = [...document.querySelectorAll('#messages .msg')];
            const parts = all.slice(-last);
            const kb = document.getElementById('reply-kb');
            if (kb.style.display !== 'none' && kb.innerText.trim()) parts.push(kb);
            const rects = parts.map((e) => e.getBoundingClientRect());
            return [Math.min(...rects.map((r) => r.top)), Math.max(...rects.map((r) => r.bottom)),
                    window.devicePixelRatio, window.innerHeight];
        """, SHOT_CSS.replace("LAST", str(last)), last)
        top, bottom, scale, inner = box
        grown = bottom + 16 > inner
        if grown:  # a long screen: a taller window for this one shot
            self.d.set_window_size(WIDTH, HEIGHT + int(bottom - inner) + 100)
        time.sleep(0.3)
        png = Image.open(io.BytesIO(self.d.get_screenshot_as_png())).convert("RGB")
        if grown:
            self.d.set_window_size(WIDTH, HEIGHT)
        crop = png.crop((0, max(0, int((top - 8) * scale)), png.width,
                         min(png.height, int((bottom + 8) * scale))))
        path = HERE / f"{name}.png"
        crop.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        self.saved.append(path)
        self.d.execute_script("const s = document.getElementById('shot-css'); if (s) s.remove();")
        say(f"saved {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")


def overview(chat: Chat) -> None:
    """The web chat as the demo opens it, with its user and bot pickers."""
    chat.d.set_window_size(900, 640)
    chat.as_user(YOU)
    chat.send("/start")
    png = Image.open(io.BytesIO(chat.d.get_screenshot_as_png())).convert("RGB")
    path = HERE / "webchat.png"
    png.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    chat.saved.append(path)
    say(f"saved {path.relative_to(ROOT)}")
    chat.d.set_window_size(WIDTH, HEIGHT)


def member(chat: Chat) -> None:
    """The admin "You" is also a member with a membership and visits."""
    chat.as_user(YOU)
    chat.send("/start")
    chat.shot("member-menu")
    chat.press("🗓")
    if chat.has_text("No classes on this day"):
        chat.press(next(b.text for b in chat.d.find_elements(By.CSS_SELECTOR, ".inline-btn")
                        if b.text.endswith("▶")))
    chat.shot("member-timetable")
    buttons = chat.d.find_elements(By.CSS_SELECTOR, ".msg.bot:last-child .inline-btn")
    chat.press(buttons[0].text)
    if chat.has_text("✅ Book"):
        chat.press("✅ Book")
    chat.shot("member-class")
    chat.send("/bookings")
    chat.shot("member-bookings")
    chat.send("/membership")
    chat.shot("member-membership")
    chat.send("/card")
    chat.shot("member-card")
    chat.send("/activity")
    chat.shot("member-activity")
    chat.send("/settings")
    chat.shot("member-settings")


def trainer(chat: Chat) -> None:
    """Anna Petrova: the staff home, a roster, a check-in by name."""
    chat.as_user(ANNA)
    chat.send("/staff")
    chat.shot("staff-home")
    chat.press("🏋")
    chat.shot("staff-myclasses")
    buttons = chat.d.find_elements(By.CSS_SELECTOR, ".msg.bot:last-child .inline-btn")
    booked = [b.text for b in buttons if "·" in b.text and not b.text.endswith("/0")]
    chat.press(booked[0] if booked else buttons[0].text)
    chat.shot("staff-roster")
    chat.send("/checkin")
    chat.send("Sofia")
    chat.press("Sofia")
    chat.shot("staff-checkin-member")
    chat.press("✅ Check in")
    chat.shot("staff-checkin-done")


def admin(chat: Chat) -> None:
    """You, as the club's admin."""
    chat.as_user(YOU)
    chat.send("/people")
    chat.send("Anna")
    chat.press("Anna")
    chat.shot("admin-people")
    chat.send("/classes")
    chat.shot("admin-classes")
    chat.send("/plans")
    chat.shot("admin-plans")
    chat.send("/members")
    chat.send("Olga")
    chat.press("Olga")
    chat.shot("admin-member-card")
    chat.send("/announce")
    chat.send("Saturday's yoga moves to the big hall. See you there!")
    chat.press("👥")
    chat.shot("admin-announce", last=2)
    chat.send("/staff")
    chat.press("📨")
    chat.shot("admin-plan-requests")
    chat.press("✅")
    chat.send("/report")
    chat.shot("admin-report")
    chat.send("/audit")
    chat.shot("admin-audit")


def newcomer(chat: Chat) -> None:
    """Someone new registers: name, then their phone through Telegram's button."""
    chat.new_user("Maria")
    chat.send("/start")
    chat.reply_button("Maria")
    chat.shot("registration-phone", last=4)
    chat.reply_button("📱")
    chat.shot("registration-done", last=3)


def main() -> int:
    try:  # chromium, its driver and the emoji font, installed with apt-get when missing
        binary = browser_tools.ensure(fonts=True)
    except browser_tools.InstallError as exc:
        sys.exit(f"screenshots: {exc}")
    with demo(free_port()) as url, browser(binary) as driver:
        chat = Chat(driver, url)
        chat.open()
        overview(chat)
        member(chat)
        trainer(chat)
        admin(chat)
        newcomer(chat)
    kb = sum(p.stat().st_size for p in chat.saved) // 1024
    say(f"{len(chat.saved)} screenshots, {kb} KB in all, in {HERE.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
