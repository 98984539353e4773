-- The site's public content: the application and reporting
-- read published rows; writes are the owner role's (RLS is enabled but not
-- forced on these tables, so the owner sees and writes drafts).
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
     WHERE schemaname = 'public' AND tablename IN ('projects', 'blog_posts')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.projects FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT ON TABLE public.projects TO strata_app, strata_readonly;
CREATE POLICY projects_public_select ON public.projects FOR SELECT TO strata_app
  USING (status = 'published' AND published_at <= now());
CREATE POLICY projects_readonly_select ON public.projects FOR SELECT TO strata_readonly USING (true);

REVOKE ALL ON TABLE public.blog_posts FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT ON TABLE public.blog_posts TO strata_app, strata_readonly;
CREATE POLICY blog_posts_public_select ON public.blog_posts FOR SELECT TO strata_app
  USING (status = 'published' AND published_at <= now());
CREATE POLICY blog_posts_readonly_select ON public.blog_posts FOR SELECT TO strata_readonly USING (true);
