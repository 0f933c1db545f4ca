"""The bot run as systemd/fitclub-bot.service and fitclub-bot-webhook@.service run it, with
their sandbox emulated.

systemd cannot run units here, so the test builds the unit's sandbox by hand, as root, in a
mount namespace of the bot's own (`unshare --mount`):

- ProtectSystem=strict: every mount read-only; PrivateTmp: an empty /tmp; ProtectHome: /root
  and /home empty tmpfs. Where this checkout, its venv or this machine's Python live under
  them (pyenv put the Python under /root; CI may clone under /tmp or /home), those paths alone
  are bound back, read-only: a real install has them in /opt/fitclub-bot and /usr, which
  ProtectSystem=strict leaves readable;
- CacheDirectory=fitclub-bot: /var/cache an empty tmpfs with fitclub-bot in it, mode 0700,
  owned by the bot's user, the only place it can write;
- ProtectProc=invisible, ProcSubset=pid: /proc mounted again with hidepid=invisible,subset=pid;
- User=, NoNewPrivileges, CapabilityBoundingSet=, AmbientCapabilities=: `setpriv` to nobody
  (standing in for fitclub), no groups, no capabilities, no_new_privs; UMask=0077;
- WorkingDirectory= and ExecStart= from the unit (/opt/fitclub-bot rewritten to this checkout),
  the unit's Environment= lines, and nothing else of the caller's environment (`env -i`).

- MemoryDenyWriteExecute=yes: the seccomp filter systemd 252 installs for it
  (tests/e2e/mdwe.py), put on the process before it execs the bot.

Not emulated: the other seccomp filters (SystemCallFilter, RestrictAddressFamilies,
SystemCallArchitectures), namespace and realtime restrictions, PrivateUsers, PrivateDevices,
DevicePolicy, the ProtectKernel*/ProtectClock/ProtectHostname settings, MemoryMax and
TasksMax (cgroups), and sd_notify (tests/e2e/test_runtime_systemd.py covers it).
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import platform
import pwd
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fitclub.devdb import free_port
from tests import factories
from tests.e2e.harness import (
    BASE_ENV,
    ROOT,
    TOKEN,
    WEBHOOK_SECRET,
    query,
    record_calls,
    wait_until,
)
from tests.e2e.session import Person

UNIT = ROOT / "systemd" / "fitclub-bot.service"
APP_DIR = "/opt/fitclub-bot"
USER = "nobody"
MDWE = ROOT / "tests" / "e2e" / "mdwe.py"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv")
    or platform.machine() != "x86_64",
    reason="emulating the unit's sandbox needs root (mount namespaces, setpriv), util-linux "
           "and x86-64 (the MemoryDenyWriteExecute filter is written for it)")

# $1: the unit's user; $2: its CacheDirectory=; $3: its WorkingDirectory=; $4: the paths under
# /tmp, /root or /home to keep visible (read-only) once those are hidden, one a line: this
# checkout, its venv and the Python installation when they live there (a real install has them
# in /opt/fitclub-bot and /usr); then the command, run as the user with a clean environment.
SANDBOX = r"""
set -eu
user=$1; cache=$2; workdir=$3; keep=$4; shift 4
IFS='
'
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /var/cache
mkdir /var/cache/.keep
n=0
for path in $keep; do
  n=$((n + 1)); mkdir "/var/cache/.keep/$n" && mount --bind "$path" "/var/cache/.keep/$n"
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
for top in /root /home; do
  if [ -d "$top" ]; then mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$top"; fi
done
n=0
for path in $keep; do
  n=$((n + 1)); mkdir -p "$path" && mount --move "/var/cache/.keep/$n" "$path"
  rmdir "/var/cache/.keep/$n"
done
rmdir /var/cache/.keep
if [ -n "$cache" ]; then
  mkdir -p "/var/cache/$cache"
  chown "$user:$(id -gn "$user")" "/var/cache/$cache" && chmod 0700 "/var/cache/$cache"
fi
findmnt -rno TARGET | while read -r mount_point; do
  case "$mount_point" in /var/cache|/tmp|/proc|/proc/*|/dev|/dev/*) continue;; esac
  mount -o remount,bind,ro "$mount_point"
done
mount -t proc -o hidepid=invisible,subset=pid,nosuid,nodev,noexec proc /proc
cd "$workdir"
umask 0077
exec setpriv --reuid="$user" --regid="$(id -gn "$user")" --clear-groups --no-new-privs \
  --inh-caps=-all --bounding-set=-all env -i "$@"
"""

HIDDEN = ("/tmp", "/root", "/home")  # PrivateTmp and ProtectHome


def kept_visible() -> list[str]:
    """This checkout, its venv and the Python installation (as named and as resolved) where
    the sandbox hides them: under /tmp, /root or /home, outermost paths only."""
    paths = set()
    for path in (ROOT, Path(sys.prefix), Path(sys.base_prefix)):
        for name in (os.path.abspath(path), str(path.resolve())):
            if any(name.startswith(f"{top}/") for top in HIDDEN):
                paths.add(name)
    return sorted(p for p in paths
                  if not any(p.startswith(f"{other}/") for other in paths))


def unit_text(path: Path = UNIT, instance: str = "") -> str:
    """The unit file with its instance name (%i) filled in, as systemd reads an instance."""
    return path.read_text().replace("%i", instance)


def unit(path: Path = UNIT, instance: str = "") -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(unit_text(path, instance))
    return parser["Service"]


def unit_environment(path: Path = UNIT, instance: str = "") -> dict[str, str]:
    """The unit's Environment= lines, and PATH as systemd sets it."""
    lines = [line.split("=", 1)[1] for line in unit_text(path, instance).splitlines()
             if line.startswith("Environment=")]
    env = dict(line.split("=", 1) for line in lines)
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
    return env


def here(value: str) -> str:
    """A path of the unit, pointed at this checkout."""
    return value.replace(f"{APP_DIR}/.venv/bin/python", sys.executable).replace(
        APP_DIR, str(ROOT))


def sandboxed(argv: list[str], settings: dict[str, str], path: Path = UNIT,
              instance: str = "") -> list[str]:
    """The command that runs argv in the emulated sandbox of a unit (an instance of a template
    when `instance` is given), with the unit's environment plus `settings` (what
    /etc/fitclub-bot/env would hold)."""
    service = unit(path, instance)
    env = {**unit_environment(path, instance), **settings}
    if service.get("MemoryDenyWriteExecute") == "yes":
        argv = [sys.executable, str(MDWE), *argv]
    return ["unshare", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", SANDBOX, "sandbox", USER,
            service.get("CacheDirectory", ""), here(service["WorkingDirectory"]),
            "\n".join(kept_visible()),
            *(f"{k}={v}" for k, v in env.items()), *argv]


SEEN_INSIDE = """
import json, os, sys
top = {d: sorted(os.listdir(d)) for d in ("/tmp", "/root", "/home") if os.path.isdir(d)}
checkout = os.statvfs(sys.argv[1])
json.dump({"top": top, "checkout_read_only": bool(checkout.f_flag & os.ST_RDONLY),
           "bot_py": os.path.isfile(os.path.join(sys.argv[1], "bot.py"))}, sys.stdout)
"""


def test_the_sandbox_hides_tmp_and_home_but_keeps_the_checkout_read_only(tmp_path):
    """PrivateTmp and ProtectHome hide the caller's /tmp, /root and /home, whatever is there,
    except the paths this checkout runs from (a clone under /tmp, as CI may make): those stay
    visible, read-only as ProtectSystem=strict leaves /opt."""
    (tmp_path / "outside").write_text("not for the bot")
    log = tmp_path / "seen.log"
    with process(sandboxed([sys.executable, "-c", SEEN_INSIDE, str(ROOT)], {}), log) as probe:
        assert probe.wait(60) == 0, log.read_text()
    seen = json.loads(log.read_text())
    kept = kept_visible()
    for top in ("/tmp", "/root", "/home"):
        if Path(top).is_dir():
            assert seen["top"][top] == sorted({p.split("/")[2] for p in kept
                                               if p.startswith(f"{top}/")}), seen
    assert seen["checkout_read_only"] and seen["bot_py"], seen


@contextlib.contextmanager
def process(command: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """A process that is killed by pid on the way out (unshare, sh, setpriv and env each
    exec the next: the pid is the bot's)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def peak_memory_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no VmHWM line for {pid}")


def memory_max_mb() -> int:
    value = unit()["MemoryMax"]
    assert value.endswith(("M", "G")), value
    return int(value[:-1]) * (1024 if value.endswith("G") else 1)


def test_the_unit_runs_the_bot_from_the_checkout():
    argv = shlex.split(here(unit()["ExecStart"]))
    assert argv == [sys.executable, "bot.py", "run"]
    assert (ROOT / argv[1]).is_file()


def test_the_bot_answers_a_member_inside_the_units_sandbox(emu, db_url, tmp_path):
    factories.plan(db_url)
    person = Person(emu, "Anna")
    metrics = free_port()
    settings = {
        "TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": db_url,
        "CARD_SECRET": BASE_ENV["CARD_SECRET"], "TELEGRAM_API_URL": emu.base_url,
        "METRICS_ADDR": f"127.0.0.1:{metrics}", "POLL_TIMEOUT": "1", "LOG_FORMAT": "plain",
    }
    log = tmp_path / "bot.log"
    argv = shlex.split(here(unit()["ExecStart"]))
    calls = record_calls(emu)
    with process(sandboxed(argv, settings), log) as bot:
        def started() -> bool:
            assert bot.poll() is None, f"the bot exited with {bot.returncode}:\n{log.read_text()}"
            return any(method == "getUpdates" for _, method, _ in calls)

        wait_until(started, 60, "the sandboxed bot to poll")
        assert uid_of(bot.pid) == pwd.getpwnam(USER).pw_uid

        (ask,) = person.send("/start", timeout=30)
        assert "What's your name?" in ask["text"]
        (ask_phone,) = person.send("Anna")
        assert "share your phone number" in ask_phone["text"]
        (done,) = person.share_contact()
        assert "You're registered" in done["text"]
        assert query(db_url, "SELECT first_name FROM members WHERE telegram_id = %s",
                     (person.id,)) == [("Anna",)]

        peak_mb = peak_memory_mb(bot.pid)
        assert peak_mb < memory_max_mb() / 4, f"the bot grew to {peak_mb} MB"

        os.kill(bot.pid, signal.SIGTERM)
        assert bot.wait(30) == 0, log.read_text()
    text = log.read_text()
    for trouble in ("Traceback", "Read-only file system", "Permission denied", "ERROR"):
        assert trouble not in text, text


MPL_SLOW_CACHE = "Matplotlib is building the font cache; this may take a moment."

def test_charts_are_drawn_at_idle_priority_inside_the_units_sandbox(tmp_path):
    """The drawing process (spawned as the bot spawns it) runs at SCHED_IDLE, draws the PNG
    under MemoryDenyWriteExecute, and matplotlib and fc-list keep their caches in the unit's
    cache directory, silently."""
    log = tmp_path / "probe.log"
    argv = [sys.executable, "-m", "tests.e2e.sandbox_probe"]
    # bot.py puts src/ on the path itself; the probe is run as a module of the checkout.
    with process(sandboxed(argv, {"PYTHONPATH": "src"}), log) as probe:
        assert probe.wait(120) == 0, log.read_text()
    # matplotlib says this (and only this) when building its cache takes over 5 s, as it may
    # on a busy machine: a note, not trouble. Anything else (fontconfig's errors without a
    # writable cache, a warning) fails the test.
    output = "".join(line for line in log.read_text().splitlines(keepends=True)
                     if line.strip() != MPL_SLOW_CACHE)
    assert output.startswith("{"), f"the probe printed more than its result:\n{output}"
    seen = json.loads(output)  # and nothing after it either
    assert seen["uid"] == pwd.getpwnam(USER).pw_uid
    assert seen["idle"] and seen["png"] and seen["png_bytes"] > 1000
    # MemoryDenyWriteExecute was in force, and numpy and matplotlib drew under it.
    assert seen["wx_refused"] == {"mmap": True, "mprotect": True}
    assert seen["drawing_process_mb"] < memory_max_mb() / 4
    assert seen["font_cache"], "matplotlib kept no font cache in MPLCONFIGDIR"
    assert seen["umask"] == "0o77"
    # The sandbox is in effect: only the cache and the private /tmp are writable, and /proc
    # shows this process (and its children) and nothing of the system.
    assert seen["writable"] == ["/var/cache/fitclub-bot/matplotlib", "/tmp"]
    assert "meminfo" not in seen["proc"] and "1" not in seen["proc"] and "self" in seen["proc"]


WEBHOOK_UNIT = ROOT / "systemd" / "fitclub-bot-webhook@.service"


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def instance_port() -> int:
    """A free port from 1024 to 9999 whose metrics port (a 1 in front) is free too."""
    for port in random.sample(range(2000, 10000), 500):
        if port_is_free(port) and port_is_free(int(f"1{port}")):
            return port
    raise AssertionError("no free pair of ports")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code


def test_a_webhook_instance_answers_a_member_inside_its_units_sandbox(
        emu, launcher, db_url, tmp_path):
    """fitclub-bot-webhook@PORT in its sandbox listens on 127.0.0.1:PORT and serves /metrics on
    1PORT, whatever the env file says; set-webhook points tgemu at it and a member is answered
    through POSTs alone."""
    port = str(instance_port())
    elsewhere = free_port()
    settings = {
        "TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": db_url, "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CARD_SECRET": BASE_ENV["CARD_SECRET"], "TELEGRAM_API_URL": emu.base_url,
        "LOG_FORMAT": "plain",
        # An env file that sets these too does not move the instance.
        "WEBHOOK_LISTEN": f"127.0.0.1:{elsewhere}", "METRICS_ADDR": f"127.0.0.1:{elsewhere}",
    }
    argv = shlex.split(here(unit(WEBHOOK_UNIT, port)["ExecStart"]))
    assert argv[:3] == ["/usr/bin/env", f"WEBHOOK_LISTEN=127.0.0.1:{port}",
                        f"METRICS_ADDR=127.0.0.1:1{port}"]
    calls = record_calls(emu)
    log = tmp_path / "webhook.log"
    with process(sandboxed(argv, settings, WEBHOOK_UNIT, port), log) as bot:
        def ready() -> bool:
            assert bot.poll() is None, f"the instance exited with {bot.returncode}:\n" \
                                       f"{log.read_text()}"
            try:
                return http_status(f"http://127.0.0.1:{port}/readyz") == 200
            except OSError:
                return False

        wait_until(ready, 60, "the sandboxed webhook instance to be ready")
        assert http_status(f"http://127.0.0.1:1{port}/metrics") == 200
        assert port_is_free(elsewhere)
        assert uid_of(bot.pid) == pwd.getpwnam(USER).pw_uid

        done = launcher.bot_py("set-webhook", "--url", f"http://127.0.0.1:{port}/webhook")
        assert done.returncode == 0, done.stderr
        person = Person(emu, "Vera")
        (ask,) = person.send("/start", timeout=30)
        assert "What's your name?" in ask["text"]
        assert not any(method == "getUpdates" for _, method, _ in calls)

        os.kill(bot.pid, signal.SIGTERM)
        assert bot.wait(30) == 0, log.read_text()
    text = log.read_text()
    for trouble in ("Traceback", "Read-only file system", "Permission denied", "ERROR"):
        assert trouble not in text, text


def test_the_migration_unit_migrates_inside_its_sandbox(empty_db_url, tmp_path):
    """fitclub-migrate.service's command in its sandbox (stricter: no @resources) applies every
    migration over MIGRATE_DATABASE_URL and exits 0, as Type=oneshot needs."""
    path = ROOT / "systemd" / "fitclub-migrate.service"
    argv = shlex.split(here(unit(path)["ExecStart"]))
    assert argv == [sys.executable, "bot.py", "migrate"]
    log = tmp_path / "migrate.log"
    # /etc/fitclub-bot/env's DATABASE_URL (the bot's role, through PgBouncer) is not used:
    # here it leads nowhere. migrate.env's MIGRATE_DATABASE_URL is.
    nowhere = f"postgresql://fitclub_bot@127.0.0.1:{free_port()}/fitclub"
    settings = {"MIGRATE_DATABASE_URL": empty_db_url, "DATABASE_URL": nowhere}
    with process(sandboxed(argv, settings, path), log) as migrate:
        assert migrate.wait(120) == 0, log.read_text()
    applied = query(empty_db_url, "SELECT count(*) FROM schema_migrations")[0][0]
    assert applied == len(list((ROOT / "sql").glob("*.sql")))
    assert "applied" in log.read_text()


def test_the_polling_unit_exits_2_when_a_webhook_is_set_and_is_not_restarted(
        emu, launcher, db_url, tmp_path):
    """`bot.py run` in the polling unit's sandbox exits with the status the unit's
    RestartPreventExitStatus names, so systemd leaves it stopped instead of restarting it every
    RestartSec; nothing was polled."""
    done = launcher.bot_py("set-webhook", "--url", f"http://127.0.0.1:{free_port()}/webhook")
    assert done.returncode == 0, done.stderr
    settings = {
        "TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": db_url,
        "CARD_SECRET": BASE_ENV["CARD_SECRET"], "TELEGRAM_API_URL": emu.base_url,
        "METRICS_ADDR": "off", "LOG_FORMAT": "plain",
    }
    calls = record_calls(emu)
    log = tmp_path / "bot.log"
    with process(sandboxed(shlex.split(here(unit()["ExecStart"])), settings), log) as bot:
        status = bot.wait(60)
    assert status == 2 and status in map(int, unit()["RestartPreventExitStatus"].split())
    assert "a webhook is set for this bot" in log.read_text()
    assert not any(method == "getUpdates" for _, method, _ in calls)
