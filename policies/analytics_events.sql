-- Analytics events: members read their workshops' events and record new
-- ones; events are never edited (no UPDATE/DELETE: retention drops whole
-- months through detach_monthly_partition).
--
-- Grants and policies are on the parent only. The partitions carry RLS with
-- no policy and no grants (set by create_monthly_partition), so naming a
-- partition directly shows nothing to anyone but a superuser; this file
-- re-asserts that for every current partition.
SET LOCAL ROLE strata_owner;

-- The file is the whole truth for these tables: every existing policy is
-- dropped first (a renamed or deleted policy does not linger), then the
-- current ones are created, in the same transaction.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT tablename, policyname FROM pg_catalog.pg_policies
     WHERE schemaname = 'public' AND tablename IN ('analytics_events')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.analytics_events FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT ON TABLE public.analytics_events TO strata_app;
GRANT SELECT ON TABLE public.analytics_events TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY analytics_events_owner_all ON public.analytics_events FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY analytics_events_readonly_select ON public.analytics_events FOR SELECT TO strata_readonly USING (true);

CREATE POLICY analytics_events_app_select ON public.analytics_events FOR SELECT TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY analytics_events_app_insert ON public.analytics_events FOR INSERT TO strata_app
  WITH CHECK (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS part
      FROM pg_catalog.pg_partition_tree('public.analytics_events') t
      JOIN pg_catalog.pg_class c ON c.oid = t.relid
     WHERE t.level > 0
  LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.part);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', r.part);
    EXECUTE format('REVOKE ALL ON TABLE %s FROM PUBLIC, strata_app, strata_worker, strata_readonly', r.part);
  END LOOP;
END
$$;
