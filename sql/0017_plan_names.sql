-- Plan names are unique whatever the letter case, as class type names are (0012). The code
-- checks first, but two admins creating "Gold" and "gold" at the same moment both passed that
-- check; now the second meets this index and is told the name is taken.

-- Names that already clash are told apart first: the oldest plan keeps its name, each later
-- one gets its id appended ("gold (#7)"), audited as a rename by the system. Nothing else
-- changes (memberships point at plans by id).
WITH ranked AS (
    SELECT id, name, row_number() OVER (PARTITION BY lower(btrim(name)) ORDER BY id) AS nth
    FROM membership_plans
), renamed AS (
    UPDATE membership_plans p SET name = btrim(p.name) || ' (#' || p.id || ')'
    FROM ranked r
    WHERE r.id = p.id AND r.nth > 1
    RETURNING p.id, r.name AS old, p.name AS new
)
INSERT INTO audit_log (actor_id, action, entity, entity_id, details)
SELECT NULL, 'plan.updated', 'plan', id,
       jsonb_build_object('field', 'name', 'old', old, 'new', new,
                          'reason', 'another plan had the same name in another case')
FROM renamed;

-- app: membership_plans_name_lower_key (a plan of that name exists, whatever the letter case).
CREATE UNIQUE INDEX membership_plans_name_lower_key ON membership_plans (lower(btrim(name)));
