"""python -m tgemu --port PORT [--token TOKEN]: serve the Bot API, control API and web chat."""

import argparse
import logging
import signal
import threading

from tgemu.emulator import Emulator


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tgemu", description=__doc__)
    parser.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--token", action="append", default=[], help="register a bot token up front (repeatable)"
    )
    parser.add_argument(
        "--global-rate",
        type=float,
        default=30.0,
        help="outbound messages/s per bot; 0 turns the limit off",
    )
    parser.add_argument(
        "--per-chat-rate",
        type=float,
        default=1.0,
        help="outbound messages/s per chat; 0 turns the limit off",
    )
    parser.add_argument("--per-chat-burst", type=float, default=3)
    parser.add_argument("--no-limits", action="store_true", help="turn every rate limit off")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    emu = Emulator(
        port=args.port,
        global_rate=None if args.no_limits else (args.global_rate or None),
        per_chat_rate=None if args.no_limits else (args.per_chat_rate or None),
        per_chat_burst=args.per_chat_burst,
    )
    for token in args.token:
        emu.add_bot(token)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    emu.start()
    logging.getLogger("tgemu").info(
        "tgemu on %s (Bot API %s, web chat %s/)", emu.base_url, emu.api_url, emu.base_url
    )
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
