"""The chat queue: one chat to one worker at a time, fairly, with delays."""

from __future__ import annotations

import threading
import time

from fitclub.runtime.chat_queue import ChatQueue


def test_a_chat_is_handed_to_one_worker_at_a_time():
    s = ChatQueue()
    s.add(1, 3)
    assert s.take(0.1) == 1
    assert s.take(0.05) is None  # chat 1 is active; nothing else is ready
    s.release(1, processed=True)
    assert s.take(0.1) == 1


def test_chats_take_turns():
    s = ChatQueue()
    s.add(1, 2)
    s.add(2, 2)
    order = []
    for _ in range(4):
        chat = s.take(0.1)
        order.append(chat)
        s.release(chat, processed=True)
    assert order == [1, 2, 1, 2]
    assert s.take(0.05) is None
    assert s.backlog() == 0


def test_empty_chat_is_forgotten_and_unprocessed_chat_is_kept():
    s = ChatQueue()
    s.add(1, 5)
    s.release(s.take(0.1), processed=False, empty=True)
    assert s.backlog() == 0
    s.add(2, 1)
    s.release(s.take(0.1), processed=False)  # e.g. the lock was busy
    assert s.backlog() == 1
    assert s.take(0.1) == 2


def test_delayed_chat_comes_back_after_its_delay():
    s = ChatQueue()
    s.add(9, 1)
    s.release(s.take(0.1), processed=False, delay=0.2)
    started = time.monotonic()
    assert s.take(1.0) == 9
    assert time.monotonic() - started >= 0.18


def test_add_while_active_requeues_after_release():
    s = ChatQueue()
    s.add(1, 1)
    chat = s.take(0.1)
    s.add(1, 1)
    s.release(chat, processed=True)
    assert s.take(0.1) == 1


def test_close_wakes_waiting_workers():
    s = ChatQueue()
    got = []
    th = threading.Thread(target=lambda: got.append(s.take(5)))
    th.start()
    time.sleep(0.05)
    s.close()
    th.join(1)
    assert got == [None]


def test_empty_pass_does_not_forget_work_announced_during_it():
    s = ChatQueue()
    s.add(4, 1)
    chat = s.take(0.1)
    s.add(4, 1)  # the poller committed a new update while the pass looked
    s.release(chat, processed=False, empty=True)
    assert s.take(0.1) == 4


def test_add_if_absent_leaves_known_chats_alone():
    s = ChatQueue()
    s.add(1, 2)
    s.add_if_absent(1, 50)
    s.add_if_absent(2, 3)
    assert s.backlog() == 5
