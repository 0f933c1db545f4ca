-- The audit log: who did what, when, to what.

-- name: record
-- One action, written in the transaction of the action itself.
INSERT INTO audit_log (actor_id, action, entity, entity_id, details)
VALUES (%(actor_id)s, %(action)s, %(entity)s, %(entity_id)s, %(details)s);
