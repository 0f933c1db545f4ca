-- Announcements: an admin's message to many members, delivered through the outbox at
-- announcement priority, a batch at a time, each member at most once.

-- One announcement: what it says (as the admin wrote it: plain text plus Telegram's
-- formatting entities, so members see exactly the preview), who gets it, and how far it got.
CREATE TABLE announcements (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id           bigint REFERENCES members ON DELETE SET NULL,
    -- The text, or the photo's caption (may then be empty).
    text                text NOT NULL DEFAULT '',
    entities            jsonb NOT NULL DEFAULT '[]',
    photo_file_id       text,
    -- all: every registered member; active: a current active membership; class: booked or
    -- attended one class; expiring: an active membership ending within `days` days.
    audience            text,
    class_id            bigint REFERENCES classes ON DELETE SET NULL,
    days                integer,
    -- draft (being composed), sending (confirmed; batches go to the outbox), done (every
    -- message delivered or given up), cancelled (a discarded draft, or stopped while sending).
    status              text NOT NULL DEFAULT 'draft',
    -- Recipients counted at confirmation; the exact number once every batch is queued.
    total               integer,
    -- The admin's message that shows progress (edited by the announcement_progress job).
    progress_chat_id    bigint,
    progress_message_id bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    -- Every recipient has an outbox row (the last batch was queued).
    queued_at           timestamptz,
    finished_at         timestamptz,
    -- Final figures, written once nothing of it is waiting or in flight any more.
    sent_count          integer,
    failed_count        integer,
    blocked_count       integer,
    CONSTRAINT announcements_status_check
        CHECK (status IN ('draft', 'sending', 'done', 'cancelled')),
    CONSTRAINT announcements_audience_check
        CHECK (audience IN ('all', 'active', 'class', 'expiring')),
    CONSTRAINT announcements_days_check
        CHECK ((audience = 'expiring') = (days IS NOT NULL) AND (days IS NULL OR days > 0)),
    CONSTRAINT announcements_content_check
        CHECK ((btrim(text) <> '' OR photo_file_id IS NOT NULL)
               AND char_length(text) <= CASE WHEN photo_file_id IS NULL THEN 4096 ELSE 1024 END),
    CONSTRAINT announcements_entities_check CHECK (jsonb_typeof(entities) = 'array'),
    CONSTRAINT announcements_sent_check
        CHECK (status IN ('draft', 'cancelled') OR (sent_at IS NOT NULL AND audience IS NOT NULL
                                                    AND total IS NOT NULL)),
    CONSTRAINT announcements_finished_check
        CHECK ((status IN ('done', 'cancelled')) = (finished_at IS NOT NULL)),
    CONSTRAINT announcements_counts_check
        CHECK (status <> 'done' OR sent_count IS NOT NULL)
);

-- The staff screen's latest announcements.
CREATE INDEX announcements_created_idx ON announcements (created_at DESC, id DESC);

-- Who was sent an announcement, through which outbox row. The primary key is the promise
-- "each member at most once": a second row for the same member fails the statement that
-- would also have queued the second message.
CREATE TABLE announcement_deliveries (
    announcement_id bigint NOT NULL REFERENCES announcements ON DELETE CASCADE,
    member_id       bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    -- No foreign key: outbox is a runtime table whose old rows may be pruned.
    outbox_id       bigint NOT NULL,
    PRIMARY KEY (announcement_id, member_id)
);

-- Serves ON DELETE CASCADE from members.
CREATE INDEX announcement_deliveries_member_idx ON announcement_deliveries (member_id);

-- The members an audience reaches today: registered, not erased, not known to have blocked
-- the bot. A plain SQL function, so the planner inlines it into each query that uses it (the
-- count shown before confirming and every batch) and folds away the audiences not asked for.
CREATE FUNCTION announcement_audience(p_audience text, p_class_id bigint, p_days integer,
                                      p_today date)
RETURNS TABLE (member_id bigint, telegram_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT m.id, m.telegram_id
    FROM members m
    WHERE m.registered_at IS NOT NULL AND m.deleted_at IS NULL AND m.blocked_at IS NULL
      AND m.telegram_id IS NOT NULL
      AND (p_audience = 'all'
           OR (p_audience = 'active' AND EXISTS (
                   SELECT 1 FROM memberships ms
                   WHERE ms.member_id = m.id AND ms.status = 'active'
                     AND ms.starts_on <= p_today AND ms.ends_on >= p_today))
           OR (p_audience = 'expiring' AND EXISTS (
                   SELECT 1 FROM memberships ms
                   WHERE ms.member_id = m.id AND ms.status = 'active'
                     AND ms.starts_on <= p_today
                     AND ms.ends_on BETWEEN p_today AND p_today + p_days))
           OR (p_audience = 'class' AND EXISTS (
                   SELECT 1 FROM bookings b
                   WHERE b.class_id = p_class_id AND b.member_id = m.id
                     AND b.status IN ('booked', 'attended'))))
$$;
