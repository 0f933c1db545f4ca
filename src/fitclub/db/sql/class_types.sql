-- Class types as admins manage them: list, one type, create, edit, delete an unused one.

-- name: all
-- Every class type by name, with how many classes it has (all, and still to come); its name
-- and description with their translations.
SELECT t.id, t.name_i18n AS name, t.description_i18n AS description,
       t.default_duration_minutes, t.default_capacity,
       (SELECT count(*) FROM classes c WHERE c.class_type_id = t.id)::integer AS classes,
       (SELECT count(*) FROM classes c
        WHERE c.class_type_id = t.id AND c.status = 'scheduled'
          AND c.starts_at > %(now)s)::integer AS upcoming
FROM class_types t
ORDER BY lower(t.name), t.id;

-- name: one
-- One class type with its class counts.
SELECT t.id, t.name_i18n AS name, t.description_i18n AS description,
       t.default_duration_minutes, t.default_capacity,
       (SELECT count(*) FROM classes c WHERE c.class_type_id = t.id)::integer AS classes,
       (SELECT count(*) FROM classes c
        WHERE c.class_type_id = t.id AND c.status = 'scheduled'
          AND c.starts_at > %(now)s)::integer AS upcoming
FROM class_types t
WHERE t.id = %(id)s;

-- name: name_taken
-- Whether another type has this name in either language, whatever the letter case.
SELECT EXISTS (SELECT 1 FROM class_types
               WHERE lower(btrim(%(name)s)) IN (lower(btrim(name)), lower(btrim(name_tr)))
                 AND (%(exclude_id)s::bigint IS NULL OR id <> %(exclude_id)s));

-- name: insert
-- A new class type.
INSERT INTO class_types (name, description, default_duration_minutes, default_capacity, lang,
                         name_tr, description_tr)
VALUES (%(name)s, %(description)s, %(duration)s, %(capacity)s, %(lang)s, %(name_tr)s,
        %(description_tr)s)
RETURNING id;

-- name: update
-- Change a type's fields (NULL keeps a field as it is); the row as it was before.
UPDATE class_types t
SET name = coalesce(%(name)s, t.name),
    description = coalesce(%(description)s, t.description),
    default_duration_minutes = coalesce(%(duration)s, t.default_duration_minutes),
    default_capacity = coalesce(%(capacity)s, t.default_capacity)
FROM (SELECT id, name, description, default_duration_minutes, default_capacity
      FROM class_types WHERE id = %(id)s FOR UPDATE) old
WHERE t.id = old.id
RETURNING old.name, old.description, old.default_duration_minutes, old.default_capacity;

-- name: lock_texts
-- A type's name and description in the language typed first and in the other, locked.
SELECT lang, name, name_tr, description, description_tr
FROM class_types WHERE id = %(id)s
FOR UPDATE;

-- name: set_texts
-- Write a type's name and description in both languages (a name taken meanwhile raises a
-- unique violation).
UPDATE class_types
SET lang = %(lang)s, name = %(name)s, name_tr = %(name_tr)s, description = %(description)s,
    description_tr = %(description_tr)s
WHERE id = %(id)s;

-- name: delete_unused
-- Delete a type that has never had a class; its name (with its translation) when deleted.
DELETE FROM class_types t
WHERE t.id = %(id)s AND NOT EXISTS (SELECT 1 FROM classes c WHERE c.class_type_id = t.id)
RETURNING t.name_i18n;
