-- Queries of "Delete my data" (fitclub/services/privacy.py; functions and triggers in
-- sql/0025_erasure.sql, sql/0028_erasure_fixes.sql and sql/0032_erasure_outbound_pace.sql). Parameters: member_id (internal id),
-- tg (Telegram id), update_id (the update erasing), and the identifiers to look for
-- (privacy.Terms): pattern (one regular expression of every form of them, or ''), span (only
-- those that identify her, for other people's durable records, or ''), quick and span_quick
-- (the same without word boundaries, a quicker first test: erasure_finds), tg_id (the
-- Telegram id to null in JSON numbers, or null), byte_terms (bytea[], looked for in files).
--
-- Two kinds of place: stored copies that are history (processed updates, finished messages
-- and jobs, her own rows) lose whole values matching `pattern`; other people's durable records
-- (notes, reasons, announcements, audit details, conversations) keep their text with each span
-- matching `span` replaced by '…' (erasure_redact).

-- name: lock_member
-- The member's row, locked first: a writer that reads her Telegram id with FOR SHARE (an
-- announcement batch, a reminder, an offer's notice) either finished before (its messages are
-- then dropped here) or waits and finds her gone.
SELECT id FROM members WHERE id = %(member_id)s AND deleted_at IS NULL FOR UPDATE;

-- name: identifiers
-- What identifies the member: the row, and the names, username and phone Telegram sent with
-- their updates (their Telegram profile may say more than the name they registered with), each
-- as kind:value (first, last, full: first and last name together, username, phone).
SELECT m.telegram_id, m.first_name, m.last_name, m.phone, m.username,
       coalesce((SELECT array_agg(DISTINCT x.k || ':' || x.v)
                 FROM inbox i
                 CROSS JOIN LATERAL (
                     SELECT jsonb_path_query(i.payload, 'lax $.**.from ? (@.id == $id)',
                                             jsonb_build_object('id', m.telegram_id)) AS o
                     UNION ALL
                     SELECT jsonb_path_query(i.payload, 'lax $.**.contact ? (@.user_id == $id)',
                                             jsonb_build_object('id', m.telegram_id))) f
                 CROSS JOIN LATERAL (VALUES ('first', f.o ->> 'first_name'),
                                            ('last', f.o ->> 'last_name'),
                                            ('full', (f.o ->> 'first_name') || ' '
                                                     || (f.o ->> 'last_name')),
                                            ('username', f.o ->> 'username'),
                                            ('phone', f.o ->> 'phone_number'))
                      AS x (k, v)
                 WHERE i.chat_id = m.telegram_id AND x.v IS NOT NULL), '{}') AS telegram_said
FROM members m
WHERE m.id = %(member_id)s AND m.deleted_at IS NULL;

-- name: statement_timeout
-- The timeout in force (ms; 0: none), to restore after the erasure.
SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout';

-- name: set_statement_timeout
-- For the rest of this transaction.
SELECT set_config('statement_timeout', %(ms)s::text, true);

-- name: cancel_jobs
-- Jobs still to run for the member (class reminders, membership notices, place offers) are
-- cancelled; a freeze's start and end still run (they keep the anonymous figures right).
UPDATE jobs
SET status = 'cancelled', finished_at = now(), last_error = NULL
WHERE status = 'pending'
  AND (payload -> 'booking_id' IN (SELECT to_jsonb(id) FROM bookings
                                   WHERE member_id = %(member_id)s)
       OR payload -> 'membership_id' IN (SELECT to_jsonb(id) FROM memberships
                                         WHERE member_id = %(member_id)s)
       OR payload -> 'offer_id' IN (SELECT to_jsonb(id) FROM waitlist_offers
                                    WHERE member_id = %(member_id)s));

-- name: scrub_jobs
-- Finished jobs whose payload or error names the member keep neither.
UPDATE jobs
SET last_error = NULL,
    payload = erasure_scrub(payload, %(pattern)s, %(tg_id)s)
WHERE status <> 'pending'
  AND (erasure_finds(last_error, %(quick)s, %(pattern)s)
       OR erasure_finds(payload::text, %(quick)s, %(pattern)s));

-- name: delete_cards
-- The member's card codes and the list of their used or replaced tokens.
WITH codes AS (DELETE FROM card_codes WHERE member_id = %(member_id)s)
DELETE FROM card_spent WHERE member_id = %(member_id)s;

-- name: delete_chat_rows
-- The rows kept for the member's chat: flood control, the "/" list, conversations (its
-- send pacing row goes last, in forget_chat_when_done).
WITH flood AS (DELETE FROM chat_flood WHERE chat_id = %(tg)s),
     lists AS (DELETE FROM command_lists WHERE chat_id = %(tg)s)
DELETE FROM conversation_state WHERE chat_id = %(tg)s OR user_id = %(tg)s;

-- name: scrub_states
-- Other people's conversations holding one of the member's identifiers mid-flow (an admin
-- who typed her phone or name) keep their shape and text, not the identifier.
UPDATE conversation_state
SET data = erasure_redact_json(data, %(span)s, %(tg_id)s)
WHERE erasure_finds(data::text, %(span_quick)s, %(span)s);

-- name: delete_notes
-- Staff notes about the member.
DELETE FROM member_notes WHERE member_id = %(member_id)s;

-- name: scrub_notes
-- Notes about other people that name the member lose her name, phone or username, the rest
-- of the text stays.
UPDATE member_notes SET body = erasure_redact(body, %(span)s)
WHERE erasure_finds(body, %(span_quick)s, %(span)s);

-- name: scrub_adjustments
-- Reasons given for changing the member's visits (free text about her) become '…'; another
-- member's reason that names her loses the name only.
UPDATE membership_adjustments
SET reason = CASE WHEN membership_id IN (SELECT id FROM memberships
                                         WHERE member_id = %(member_id)s)
                  THEN '…' ELSE erasure_redact(reason, %(span)s) END
WHERE reason <> '…'
  AND (membership_id IN (SELECT id FROM memberships WHERE member_id = %(member_id)s)
       OR erasure_finds(reason, %(span_quick)s, %(span)s));

-- name: scrub_audit
-- Audit entries: those about the member lose their free text (reasons) and any identifier
-- (`pattern`: her first name too);
-- any other entry naming her (a search by her phone, a refusal with her Telegram id) loses
-- the identifier (a matched span of a string becomes '…', a number equal to her id null).
-- Ids, actions and figures stay, so each entry still reads as a sentence.
UPDATE audit_log a
SET details = erasure_redact_json(a.details,
                                  CASE WHEN about.her THEN %(pattern)s ELSE %(span)s END,
                                  %(tg_id)s,
                                  CASE WHEN about.her THEN ARRAY['reason', 'text', 'body',
                                                                'note', 'query', 'search']
                                       ELSE '{}'::text[] END)
FROM (SELECT id,
             (entity = 'member' AND entity_id = %(member_id)s)
             OR details -> 'member_id' = to_jsonb(%(member_id)s::bigint)
             OR (entity = 'membership'
                 AND entity_id IN (SELECT id FROM memberships
                                   WHERE member_id = %(member_id)s)) AS her
      FROM audit_log) about
WHERE a.id = about.id
  AND (about.her
       OR erasure_finds(a.details::text, %(span_quick)s, %(span)s));

-- name: scrub_announcements
-- An announcement whose progress was shown in the member's chat (she was an admin) forgets
-- that message; one whose text names her loses the name (and its formatting, whose offsets
-- the shorter text no longer fits).
UPDATE announcements
SET progress_chat_id = CASE WHEN progress_chat_id = %(tg)s THEN NULL ELSE progress_chat_id END,
    progress_message_id = CASE WHEN progress_chat_id = %(tg)s THEN NULL
                               ELSE progress_message_id END,
    text = CASE WHEN erasure_finds(text, %(span_quick)s, %(span)s)
                THEN erasure_redact(text, %(span)s) ELSE text END,
    entities = CASE WHEN erasure_finds(text, %(span_quick)s, %(span)s)
                    THEN '[]'::jsonb ELSE entities END
WHERE progress_chat_id = %(tg)s
   OR erasure_finds(text, %(span_quick)s, %(span)s);

-- name: drop_own_outbox
-- Messages still queued for the member are dropped, their content gone.
UPDATE outbox
SET status = 'dropped', error = 'its person erased their data', params = '{}'::jsonb,
    file_field = NULL, file_name = NULL, file_bytes = NULL, chat_id = NULL
WHERE chat_id = %(tg)s AND status = 'pending';

-- name: scrub_own_outbox
-- What was sent to the member keeps only its method and status; a message in flight right
-- now does the same for the whole chat once it is delivered or given up.
WITH flying AS (
    UPDATE outbox SET forget_chat = true WHERE chat_id = %(tg)s AND status = 'sending'
)
UPDATE outbox
SET params = '{}'::jsonb, file_field = NULL, file_name = NULL, file_bytes = NULL,
    error = NULL, chat_id = NULL
WHERE chat_id = %(tg)s AND status NOT IN ('pending', 'sending');

-- name: scrub_others_outbox
-- Messages to other people that name the member (her member card shown to an admin, a
-- search result, an export file, a notice of her request): finished ones keep only their
-- method and status; ones still waiting lose their content once sent (scrub_when_done).
WITH naming AS (
    SELECT o.id, o.status IN ('pending', 'sending') AS waiting
    FROM outbox o
    WHERE o.chat_id IS DISTINCT FROM %(tg)s
      AND (erasure_finds(o.params::text, %(quick)s, %(pattern)s)
           OR erasure_finds(o.error, %(quick)s, %(pattern)s)
           OR (o.file_bytes IS NOT NULL
               AND EXISTS (SELECT 1 FROM unnest(%(byte_terms)s::bytea[]) AS t (b)
                           WHERE position(t.b IN o.file_bytes) > 0))
           OR o.update_id IN (SELECT update_id FROM inbox WHERE chat_id = %(tg)s))
), later AS (
    UPDATE outbox o SET scrub_when_done = true
    FROM naming n WHERE o.id = n.id AND n.waiting
)
UPDATE outbox o
SET params = jsonb_build_object('chat_id', o.chat_id), file_field = NULL, file_name = NULL,
    file_bytes = NULL, error = NULL
FROM naming n
WHERE o.id = n.id AND NOT n.waiting;

-- name: scrub_own_inbox
-- The member's stored updates up to the one erasing them keep only their ids (processed
-- ones lose their chat id too; the erasing one keeps it until the confirmation is
-- delivered); later ones still waiting (a second press of "Yes, delete") lose their content
-- and chat id once processed, and take their chat's flood and "/" list rows with them, and
-- their replies to her chat are flagged forget_chat (sql/0028_erasure_fixes.sql).
WITH later AS (
    UPDATE inbox SET scrub_when_done = true, forget_chat = true
    WHERE chat_id = %(tg)s AND status = 'pending' AND update_id > %(update_id)s
)
UPDATE inbox
SET payload = jsonb_build_object('update_id', update_id), error = NULL,
    chat_id = CASE WHEN status = 'pending' THEN chat_id END
WHERE chat_id = %(tg)s AND (status <> 'pending' OR update_id <= %(update_id)s);

-- name: scrub_others_inbox
-- Other people's stored updates that name the member (a search by her phone, a note's text,
-- a forwarded contact): processed ones keep only their ids; one still waiting is left to be
-- processed and loses its content then (scrub_when_done).
WITH naming AS (
    SELECT i.update_id, i.status = 'pending' AS waiting
    FROM inbox i
    WHERE i.chat_id IS DISTINCT FROM %(tg)s
      AND (erasure_finds(i.payload::text, %(quick)s, %(pattern)s)
           OR erasure_finds(i.error, %(quick)s, %(pattern)s))
), later AS (
    UPDATE inbox i SET scrub_when_done = true
    FROM naming n WHERE i.update_id = n.update_id AND n.waiting
)
UPDATE inbox i
SET payload = jsonb_build_object('update_id', i.update_id), error = NULL
FROM naming n
WHERE i.update_id = n.update_id AND NOT n.waiting;

-- name: forget_chat_when_done
-- The confirmation and the removal of the "/" list just queued for the erased member's chat:
-- once each is delivered or given up, the chat's finished updates and messages lose their
-- content and chat id, and its flood, "/" list and pacing rows go (outbox_erasure_done,
-- sql/0032_erasure_outbound_pace.sql).
-- Her chat's pacing row (outbound_chat_pace, sql/0031_shared_limits.sql) goes here, the
-- erasure's last statement, not with the other chat rows in delete_chat_rows: a deleted row
-- stays locked until the commit, and outbound_take waits for a locked chat row while holding
-- the one row every send of every instance passes (as does its pruning), so deleting it
-- before the seconds-long scans would hold up every send of the bot for as long.
WITH pace AS (DELETE FROM outbound_chat_pace WHERE chat_id = %(tg)s)
UPDATE outbox SET forget_chat = true
WHERE chat_id = %(tg)s AND status IN ('pending', 'sending');
