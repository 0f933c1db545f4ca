-- Reminders: the member's on/off switch, and the sweep that finds reminders due.

-- name: set_enabled
-- Turn a live member's reminders on or off.
UPDATE members SET reminders_enabled = %(enabled)s WHERE id = %(id)s AND deleted_at IS NULL;
