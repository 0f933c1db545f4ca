-- Outbound limits shared by every instance on this database (issue 19): OUTBOUND_RATE for all
-- of them together, one pacing per chat (PER_CHAT_RATE, burst 3), and Telegram's 429 pauses.
--
-- A sender calls outbound_take() once per Bot API call, just before it, in autocommit: the
-- call takes a slot of the global sliding window and a token of the chat's bucket, or neither.
-- Times are the database's clock_timestamp() only, so the hosts' clocks never meet.
--
-- The tables are UNLOGGED: their state is worth a second or two (the window, a refilling
-- bucket, a pause), so it costs no WAL, and after a database crash they come back empty,
-- which the functions handle (an empty window is the worst case of a restart anyway).

-- The one row: the last slots taken, oldest first (as many as the capacity asked for: every
-- instance must run with the same OUTBOUND_RATE), a pause for everyone after a long 429, and
-- when idle chats' buckets were last pruned.
CREATE UNLOGGED TABLE outbound_limit (
    id           boolean PRIMARY KEY DEFAULT true CONSTRAINT outbound_limit_one_row CHECK (id),
    sends        timestamptz[] NOT NULL DEFAULT '{}',
    paused_until timestamptz NOT NULL DEFAULT '-infinity',
    pruned_at    timestamptz NOT NULL DEFAULT '-infinity'
);

INSERT INTO outbound_limit DEFAULT VALUES;

-- A chat's token bucket as of `at` (tokens may be below zero only transiently: never taken
-- below one), and its pause after a 429 that named it. A row whose bucket has refilled and
-- whose pause is over says nothing: it is pruned.
CREATE UNLOGGED TABLE outbound_chat_pace (
    chat_id      bigint PRIMARY KEY,
    tokens       double precision NOT NULL,
    at           timestamptz NOT NULL,
    paused_until timestamptz NOT NULL DEFAULT '-infinity'
);

-- Take a slot for one call to p_chat_id, or say how long to wait.
--
-- The global limit is a sliding window: the slot is the earliest time at which the last
-- p_capacity slots (this one included) span more than p_window + p_margin, and not before a
-- pause ends. The slot may lie ahead (at most p_max_ahead seconds): it is then reserved, and
-- the caller sends when it comes, so waiting senders do not poll. The margin absorbs the
-- varying time between taking a slot and the request reaching Telegram.
-- The chat must have a token at that slot and no pause; otherwise nothing is taken and the
-- caller waits `wait` seconds (meanwhile it sends to other chats).
-- Returns granted = true and wait = seconds until the slot (0 when now), or granted = false
-- and wait = seconds to wait before asking again.
CREATE FUNCTION outbound_take(
    p_chat_id bigint, p_capacity integer, p_window double precision,
    p_margin double precision, p_chat_rate double precision, p_chat_burst double precision,
    p_max_ahead double precision, OUT granted boolean, OUT wait double precision)
LANGUAGE plpgsql AS $$
DECLARE
    lim outbound_limit%ROWTYPE;
    pace outbound_chat_pace%ROWTYPE;
    now_ timestamptz;
    slot timestamptz;
    tokens double precision := p_chat_burst;
    ready timestamptz;
    n integer;
BEGIN
    -- A null anywhere makes the test null: refused too.
    IF coalesce(p_capacity < 1 OR NOT p_window > 0 OR NOT p_margin >= 0
                OR NOT p_chat_rate > 0 OR NOT p_chat_burst >= 1 OR NOT p_max_ahead >= 0
                OR p_chat_id IS NULL, true) THEN
        RAISE EXCEPTION 'outbound_take: capacity >= 1, window > 0, margin >= 0, '
                        'chat rate > 0, burst >= 1, max ahead >= 0 and a chat id are required'
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Losing the last few milliseconds of this state in a crash is harmless: no commit of
    -- it waits for a flush.
    PERFORM set_config('synchronous_commit', 'off', true);
    -- Every send of every instance passes this row lock, one at a time: the window's slots are
    -- handed out in order.
    SELECT * INTO lim FROM outbound_limit FOR UPDATE;
    IF NOT FOUND THEN  -- emptied by a crash (unlogged)
        INSERT INTO outbound_limit DEFAULT VALUES ON CONFLICT DO NOTHING;
        SELECT * INTO lim FROM outbound_limit FOR UPDATE;
    END IF;
    -- Read after the lock is held, so the slot is no earlier than the moment it is granted.
    now_ := clock_timestamp();
    slot := greatest(now_, lim.paused_until);
    n := cardinality(lim.sends);
    IF n >= p_capacity THEN
        slot := greatest(slot, lim.sends[n - p_capacity + 1]
                               + make_interval(secs => p_window + p_margin));
    END IF;
    IF slot > now_ + make_interval(secs => p_max_ahead) THEN
        granted := false;
        wait := extract(epoch FROM slot - now_) - p_max_ahead;
        RETURN;
    END IF;

    SELECT * INTO pace FROM outbound_chat_pace WHERE chat_id = p_chat_id FOR UPDATE;
    IF FOUND THEN
        tokens := least(p_chat_burst,
                        pace.tokens + extract(epoch FROM slot - pace.at) * p_chat_rate);
        ready := greatest(pace.paused_until,
                          slot + make_interval(secs => greatest(0, 1 - tokens) / p_chat_rate));
        IF ready > slot THEN
            granted := false;
            wait := extract(epoch FROM ready - now_);
            RETURN;
        END IF;
    END IF;

    INSERT INTO outbound_chat_pace AS p (chat_id, tokens, at)
    VALUES (p_chat_id, tokens - 1, slot)
    ON CONFLICT (chat_id) DO UPDATE SET tokens = excluded.tokens, at = excluded.at;
    -- Slots are granted in time order (each is at least the one p_capacity before it plus the
    -- window), so appending keeps the array sorted; it keeps the last p_capacity.
    UPDATE outbound_limit
    SET sends = (lim.sends || slot)[greatest(1, n + 2 - p_capacity):]
    WHERE id;
    IF lim.pruned_at < now_ - interval '60 seconds' THEN
        -- A bucket untouched for burst / rate seconds is full again: its row says nothing.
        DELETE FROM outbound_chat_pace
        WHERE paused_until < now_
          AND at < now_ - make_interval(secs => p_chat_burst / p_chat_rate);
        UPDATE outbound_limit SET pruned_at = now_ WHERE id;
    END IF;
    granted := true;
    wait := extract(epoch FROM slot - now_);
END
$$;

-- Telegram answered 429 with retry_after: nothing goes to p_chat_id for p_seconds, and with
-- p_everyone nothing goes to anyone (a long wait means the whole bot is over its limit).
CREATE FUNCTION outbound_pause(p_chat_id bigint, p_seconds double precision,
                               p_everyone boolean)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    until timestamptz;
BEGIN
    IF coalesce(p_chat_id IS NULL OR NOT p_seconds >= 0 OR p_seconds > 86400
                OR p_everyone IS NULL, true) THEN
        RAISE EXCEPTION 'outbound_pause: a chat id, seconds between 0 and 86400 and whether '
                        'everyone pauses are required'
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The global row first, as in outbound_take, so the two never wait for each other in turn.
    IF p_everyone THEN
        INSERT INTO outbound_limit DEFAULT VALUES ON CONFLICT DO NOTHING;
        UPDATE outbound_limit
        SET paused_until = greatest(paused_until,
                                    clock_timestamp() + make_interval(secs => p_seconds))
        WHERE id;
    END IF;
    until := clock_timestamp() + make_interval(secs => p_seconds);
    -- A chat Telegram refused has no token left.
    INSERT INTO outbound_chat_pace AS p (chat_id, tokens, at, paused_until)
    VALUES (p_chat_id, 0, clock_timestamp(), until)
    ON CONFLICT (chat_id) DO UPDATE
    SET paused_until = greatest(p.paused_until, excluded.paused_until);
END
$$;
