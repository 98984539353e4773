-- Archived chat messages: members read their workshops'; only the worker
-- writes (append-only: nobody updates an archived message).
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
     WHERE schemaname = 'public' AND tablename IN ('chat_history_archive')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.chat_history_archive FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT ON TABLE public.chat_history_archive TO strata_app;
GRANT SELECT, INSERT ON TABLE public.chat_history_archive TO strata_worker;
GRANT SELECT ON TABLE public.chat_history_archive TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY chat_history_archive_owner_all ON public.chat_history_archive FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY chat_history_archive_readonly_select ON public.chat_history_archive FOR SELECT TO strata_readonly USING (true);

CREATE POLICY chat_history_archive_app_select ON public.chat_history_archive FOR SELECT TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));

CREATE POLICY chat_history_archive_worker_select ON public.chat_history_archive FOR SELECT TO strata_worker USING (true);
CREATE POLICY chat_history_archive_worker_insert ON public.chat_history_archive FOR INSERT TO strata_worker WITH CHECK (true);
