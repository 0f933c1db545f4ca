-- The runtime's tables: the durable inbox of updates, the transactional outbox of Bot API
-- calls, conversation state, and per-chat flood control.
--
-- Everything here is shared by every instance of the bot through PostgreSQL; nothing relies
-- on session state, so PgBouncer's transaction pooling works.

-- Every update Telegram gave us, stored before it is acknowledged (the next getUpdates offset,
-- or the webhook's 200). Its effects commit in the same transaction that marks it processed.
CREATE TABLE inbox (
    update_id    bigint PRIMARY KEY,
    -- The chat whose updates run one at a time, in update_id order (the user for updates that
    -- have no chat, 0 for updates with neither).
    chat_id      bigint NOT NULL,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    status       text NOT NULL DEFAULT 'pending',
    attempts     integer NOT NULL DEFAULT 0,
    not_before   timestamptz,
    processed_at timestamptz,
    error        text,
    CONSTRAINT inbox_status_check
        CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
    CONSTRAINT inbox_attempts_check CHECK (attempts >= 0),
    CONSTRAINT inbox_processed_check CHECK ((status = 'pending') = (processed_at IS NULL))
);

-- The worker's question: what is the oldest pending update of this chat?
CREATE INDEX inbox_pending_by_chat ON inbox (chat_id, update_id) WHERE status = 'pending';

-- Every Bot API call the bot makes, written in the transaction that decided it.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id      bigint NOT NULL,
    method       text NOT NULL,
    params       jsonb NOT NULL,
    -- A photo or document to upload with the call (field name and bytes).
    file_field   text,
    file_name    text,
    file_bytes   bytea,
    -- 0 replies, 1 reminders, 2 announcements: lower goes first.
    priority     smallint NOT NULL DEFAULT 0,
    status       text NOT NULL DEFAULT 'pending',
    attempts     integer NOT NULL DEFAULT 0,
    not_before   timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- While 'sending', the claim expires at lease_until so a crashed sender's rows come back.
    lease_until  timestamptz,
    update_id    bigint,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at      timestamptz,
    result_message_id bigint,
    error        text,
    CONSTRAINT outbox_status_check
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dropped')),
    CONSTRAINT outbox_priority_check CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT outbox_method_check CHECK (method ~ '^[a-zA-Z]+$'),
    CONSTRAINT outbox_file_check
        CHECK ((file_field IS NULL) = (file_bytes IS NULL)),
    CONSTRAINT outbox_lease_check CHECK ((status = 'sending') = (lease_until IS NOT NULL))
);

-- The sender's question: the next deliverable rows, by priority then age.
CREATE INDEX outbox_pending ON outbox (priority, id) WHERE status = 'pending';
-- Per-chat order: a row may go only when no older row of its chat is still undelivered.
CREATE INDEX outbox_open_by_chat ON outbox (chat_id, id) WHERE status IN ('pending', 'sending');

-- Multi-step conversations (pyTelegramBotAPI's state storage), surviving restarts.
CREATE TABLE conversation_state (
    bot_id     bigint NOT NULL,
    chat_id    bigint NOT NULL,
    user_id    bigint NOT NULL,
    thread_key text NOT NULL DEFAULT '',
    state      text,
    data       jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bot_id, chat_id, user_id, thread_key),
    CONSTRAINT conversation_state_data_check CHECK (jsonb_typeof(data) = 'object')
);

-- Per-user flood control: a token bucket per chat, shared by every instance.
CREATE TABLE chat_flood (
    chat_id    bigint PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    -- Set when the "slow down" reply was sent; cleared when the bucket refills.
    warned     boolean NOT NULL DEFAULT false
);
