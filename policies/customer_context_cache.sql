-- The pre-rendered customer context: written only by the triggers of
-- functions/customer_context_cache.sql and read only through
-- get_customer_context(), all SECURITY DEFINER, so no role but the owner
-- touches these tables. The cache copies what every workshop publishes; a
-- grant here would be a way around the source tables' policies.
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
     WHERE schemaname = 'public' AND tablename IN ('customer_context_cache', 'customer_context_global')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.customer_context_cache FROM PUBLIC, strata_app, strata_worker, strata_readonly;
REVOKE ALL ON TABLE public.customer_context_global FROM PUBLIC, strata_app, strata_worker, strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (the cache
-- triggers, get_customer_context()) is this explicit policy.
CREATE POLICY customer_context_cache_owner_all ON public.customer_context_cache FOR ALL TO strata_owner USING (true) WITH CHECK (true);
CREATE POLICY customer_context_global_owner_all ON public.customer_context_global FOR ALL TO strata_owner USING (true) WITH CHECK (true);
