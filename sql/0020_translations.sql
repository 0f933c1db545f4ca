-- The club's content in both of the bot's languages (issue 16): a plan's name, a class type's
-- name and description may be given in the other language too, and every screen shows the
-- reader's language, falling back to the other one.
--
-- `name` and `description` stay what the admin typed first, in `lang` (the admin's language
-- then); `name_tr` and `description_tr` are the same in the other language (English <-> Russian),
-- NULL when none was given. The queries that show a name or a description read the generated
-- `name_i18n` / `description_i18n` columns, {lang, text, translation}, which the code turns
-- into one value that knows both (fitclub.locales.Localized).

-- Rows from before this file: a name with Cyrillic letters was typed in Russian.
ALTER TABLE membership_plans
    ADD COLUMN lang text NOT NULL DEFAULT 'en',
    ADD COLUMN name_tr text;
UPDATE membership_plans SET lang = 'ru' WHERE name ~ '[А-Яа-яЁё]';
ALTER TABLE membership_plans
    ADD CONSTRAINT membership_plans_lang_check CHECK (lang IN ('en', 'ru')),
    ADD CONSTRAINT membership_plans_name_tr_check CHECK (btrim(name_tr) <> ''),
    ADD COLUMN name_i18n text[] GENERATED ALWAYS AS (ARRAY[lang, name, name_tr]) STORED;

ALTER TABLE class_types
    ADD COLUMN lang text NOT NULL DEFAULT 'en',
    ADD COLUMN name_tr text,
    ADD COLUMN description_tr text;
UPDATE class_types SET lang = 'ru' WHERE name ~ '[А-Яа-яЁё]';
ALTER TABLE class_types
    ADD CONSTRAINT class_types_lang_check CHECK (lang IN ('en', 'ru')),
    ADD CONSTRAINT class_types_name_tr_check
        CHECK (btrim(name_tr) <> '' AND char_length(name_tr) <= 64),
    ADD CONSTRAINT class_types_description_tr_check
        CHECK (btrim(description_tr) <> '' AND char_length(description_tr) <= 500),
    ADD COLUMN name_i18n text[] GENERATED ALWAYS AS (ARRAY[lang, name, name_tr]) STORED,
    ADD COLUMN description_i18n text[]
        GENERATED ALWAYS AS (ARRAY[lang, description, description_tr]) STORED;

-- Names stay unique in each language, whichever column holds them: a translation may not be
-- another plan's (type's) name in that language either. The code checks first (and refuses a
-- name any other plan has in either language); these catch two admins at the same moment.
-- app: membership_plans_name_en_key, membership_plans_name_ru_key, class_types_name_en_key,
-- class_types_name_ru_key (a plan or type of that name exists in that language).
CREATE UNIQUE INDEX membership_plans_name_en_key
    ON membership_plans (lower(btrim(CASE WHEN lang = 'en' THEN name ELSE name_tr END)));
CREATE UNIQUE INDEX membership_plans_name_ru_key
    ON membership_plans (lower(btrim(CASE WHEN lang = 'ru' THEN name ELSE name_tr END)));
CREATE UNIQUE INDEX class_types_name_en_key
    ON class_types (lower(btrim(CASE WHEN lang = 'en' THEN name ELSE name_tr END)));
CREATE UNIQUE INDEX class_types_name_ru_key
    ON class_types (lower(btrim(CASE WHEN lang = 'ru' THEN name ELSE name_tr END)));
