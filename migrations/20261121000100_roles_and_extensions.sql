-- Runs as the superuser the runner connects with: roles and extensions need it,
-- so this is the only migration that does not start with SET LOCAL ROLE.

-- strata:up

-- Roles are cluster-wide and many databases (test databases, concurrently)
-- share one cluster, so each role is created only when missing and a
-- concurrent creator winning the race is not an error. They are NOLOGIN group
-- roles: a deployment grants them to its login users (GRANT strata_app TO
-- api_login), which keeps passwords out of migrations. Policies written
-- TO strata_app apply to those members too.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('strata_owner'), ('strata_app'), ('strata_worker'), ('strata_readonly')
    ) AS v(name)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', r.name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END
$$;

-- The slow-query audit reads pg_stat_statements for every role's statements;
-- without pg_read_all_stats it would only see "<insufficient privilege>".
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role('strata_worker', 'pg_read_all_stats', 'MEMBER') THEN
    BEGIN
      GRANT pg_read_all_stats TO strata_worker;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;

-- btree_gin lets one GIN index combine leads.workshop_id with the chat text,
-- which is the shape of every chat search (always within one workshop).
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;
-- Read by the slow-query audit job; the view only returns rows when the
-- server preloads the library, but creating it does not require that.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;

-- Since PostgreSQL 15 nobody but the database owner may create in public.
GRANT USAGE, CREATE ON SCHEMA public TO strata_owner;
GRANT USAGE ON SCHEMA public TO strata_app, strata_worker, strata_readonly;

-- strata:down

-- Functions from functions/ outlive the tables they read (their bodies are not
-- tracked as dependencies), and the runner forgets repeatables after a down,
-- so the first migration's down is where they go. Policies that call them are
-- gone by now: every later migration's down dropped its tables.
DROP FUNCTION IF EXISTS public.get_customer_context(text);
DROP FUNCTION IF EXISTS public.workshop_leaderboard_for_member(uuid, integer);
DROP FUNCTION IF EXISTS public.refresh_workshop_leaderboard();
DROP FUNCTION IF EXISTS public.trim_chat_histories(integer, integer);
DROP FUNCTION IF EXISTS public.create_workshop(text, text);
DROP FUNCTION IF EXISTS public.app_admin_workshop_ids();
DROP FUNCTION IF EXISTS public.app_member_workshop_ids();
DROP FUNCTION IF EXISTS public.app_current_workshop_id();
DROP FUNCTION IF EXISTS public.app_current_user_id();

REVOKE USAGE ON SCHEMA public FROM strata_app, strata_worker, strata_readonly;
REVOKE USAGE, CREATE ON SCHEMA public FROM strata_owner;

DROP EXTENSION IF EXISTS pg_stat_statements;
DROP EXTENSION IF EXISTS btree_gin;

-- The roles and strata_worker's pg_read_all_stats membership are deliberately
-- kept: they are cluster-wide and other databases of the cluster use them.
