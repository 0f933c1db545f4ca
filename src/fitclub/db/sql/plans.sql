-- Plans as admins manage them: list, create, edit, archive, delete a never-sold one.

-- name: all
-- Every plan (only plan_id's when given), on sale first, with how many memberships were sold
-- and how many are current; the name with its translation.
SELECT p.id, p.name_i18n AS name, p.price_minor, p.duration_days, p.visit_count, p.freeze_days,
       p.is_active,
       (SELECT count(*) FROM memberships m WHERE m.plan_id = p.id)::integer AS sold,
       (SELECT count(*) FROM memberships m
        WHERE m.plan_id = p.id AND m.status IN ('active', 'frozen'))::integer AS current
FROM membership_plans p
WHERE %(plan_id)s::integer IS NULL OR p.id = %(plan_id)s
ORDER BY p.is_active DESC, p.price_minor, p.id;

-- name: name_taken
-- Whether another plan has this name in either language (any case), as
-- membership_plans_name_lower_key and the per-language keys of 0020 see it, and stricter.
SELECT EXISTS (SELECT 1 FROM membership_plans
               WHERE lower(btrim(%(name)s)) IN (lower(btrim(name)), lower(btrim(name_tr)))
                 AND id IS DISTINCT FROM %(plan_id)s);

-- name: insert
-- A new plan, on sale (a name taken meanwhile raises a unique violation).
INSERT INTO membership_plans (name, price_minor, duration_days, visit_count, freeze_days,
                              lang, name_tr)
VALUES (%(name)s, %(price_minor)s, %(duration_days)s, %(visit_count)s, %(freeze_days)s,
        %(lang)s, %(name_tr)s)
RETURNING id;

-- name: lock
-- One plan, locked for a change.
SELECT id, name, price_minor, duration_days, visit_count, freeze_days, is_active, lang, name_tr
FROM membership_plans WHERE id = %(plan_id)s
FOR UPDATE;

-- name: update
-- Write every field of a plan (the caller changed one, or a name in one language; a name
-- taken meanwhile raises a unique violation).
UPDATE membership_plans
SET name = %(name)s, price_minor = %(price_minor)s, duration_days = %(duration_days)s,
    visit_count = %(visit_count)s, freeze_days = %(freeze_days)s, lang = %(lang)s,
    name_tr = %(name_tr)s
WHERE id = %(plan_id)s;

-- name: set_on_sale
-- Put a plan on sale or archive it; no row when it already was so.
UPDATE membership_plans SET is_active = %(on)s
WHERE id = %(plan_id)s AND is_active <> %(on)s
RETURNING id;

-- name: delete_unsold
-- Delete a plan no membership was ever sold of: its name with its translation; no row otherwise.
DELETE FROM membership_plans p
WHERE p.id = %(plan_id)s
  AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.plan_id = p.id)
RETURNING p.name_i18n;
