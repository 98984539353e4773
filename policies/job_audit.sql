-- Job audit tables: written by the worker, read by reporting, invisible to
-- the application. Not tenant data, so no row-level security.
SET LOCAL ROLE strata_owner;

REVOKE ALL ON TABLE public.job_runs FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.job_runs TO strata_worker;
GRANT SELECT ON TABLE public.job_runs TO strata_readonly;
REVOKE ALL ON TABLE public.slow_query_snapshots FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.slow_query_snapshots TO strata_worker;
GRANT SELECT ON TABLE public.slow_query_snapshots TO strata_readonly;
REVOKE ALL ON TABLE public.slow_query_findings FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.slow_query_findings TO strata_worker;
GRANT SELECT ON TABLE public.slow_query_findings TO strata_readonly;
REVOKE ALL ON TABLE public.performance_alerts FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.performance_alerts TO strata_worker;
GRANT SELECT ON TABLE public.performance_alerts TO strata_readonly;
