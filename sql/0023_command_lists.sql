-- The "/" command list last queued for each chat, by its fingerprint (fitclub/commands.py: a
-- hash of the list's commands and descriptions) and the outbox row that carries it. At start-up
-- the bot sets the list of every member whose row is missing, differs from what their role and
-- language have in the running version, or whose call Telegram refused or was never made (the
-- member had blocked the bot); chat 0 stands for the lists everyone sees before registering
-- (the default scope). A chat whose list was removed (the member erased their data) has no row.
CREATE TABLE command_lists (
    chat_id     bigint PRIMARY KEY,
    fingerprint text NOT NULL,
    -- No foreign key: the outbox row may be gone one day; then the list counts as set.
    outbox_id   bigint,
    queued_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT command_lists_chat_id_check CHECK (chat_id >= 0),
    CONSTRAINT command_lists_fingerprint_check CHECK (fingerprint ~ '^[0-9a-f]{16}$')
);
