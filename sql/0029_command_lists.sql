-- The "/" command list last queued for each chat, by its fingerprint (fitclub/commands.py: a
-- hash of the list's commands and descriptions). At start-up the bot sets the list of every
-- member whose row is missing or differs from what their role and language have in the running
-- version; chat 0 stands for the lists everyone sees before registering (the default scope).
-- A chat whose list is removed (the member erased their data) has no row.
CREATE TABLE command_lists (
    chat_id     bigint PRIMARY KEY,
    fingerprint text NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT command_lists_chat_id_check CHECK (chat_id >= 0),
    CONSTRAINT command_lists_fingerprint_check CHECK (fingerprint ~ '^[0-9a-f]{16}$')
);
