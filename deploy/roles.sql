-- The FitClub bot's two PostgreSQL roles. Run once (it may be run again), as a superuser,
-- connected to the bot's database, BEFORE the first `bot.py migrate` as the owner:
--
--     psql -v ON_ERROR_STOP=1 -d fitclub -f deploy/roles.sql
--     psql -d fitclub -c '\password fitclub_owner' -c '\password fitclub_bot'
--
-- fitclub_owner owns the schema's objects: MIGRATE_DATABASE_URL logs in as it, straight to
-- PostgreSQL. fitclub_bot is what the bot's processes log in as (DATABASE_URL, through
-- PgBouncer or not): it may read and write rows and nothing else (no DDL, no TRUNCATE, no
-- temporary tables). The default privileges cover every table, sequence and function a later
-- migration creates, as long as fitclub_owner runs the migrations.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fitclub_owner') THEN
        CREATE ROLE fitclub_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fitclub_bot') THEN
        CREATE ROLE fitclub_bot LOGIN;
    END IF;
    -- Only the roles named here may connect; PUBLIC's CONNECT and TEMPORARY go.
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO fitclub_owner, fitclub_bot',
                   current_database());
END
$$;

-- Only the owner creates objects (PostgreSQL 15 already denies CREATE to PUBLIC; older ones
-- do not).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO fitclub_owner;
GRANT USAGE ON SCHEMA public TO fitclub_bot;

-- What exists already (a database migrated before the roles: see docs/operations.md).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fitclub_bot;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO fitclub_bot;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO fitclub_bot;

-- What later migrations create (when run as fitclub_owner).
ALTER DEFAULT PRIVILEGES FOR ROLE fitclub_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fitclub_bot;
ALTER DEFAULT PRIVILEGES FOR ROLE fitclub_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO fitclub_bot;
ALTER DEFAULT PRIVILEGES FOR ROLE fitclub_owner IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO fitclub_bot;

-- The bot's statement timeout (DB_STATEMENT_TIMEOUT_MS, 15000 by default) as the role's
-- default: the pool then sends no SET LOCAL before each transaction. Keep the two equal.
ALTER ROLE fitclub_bot SET statement_timeout = '15s';
