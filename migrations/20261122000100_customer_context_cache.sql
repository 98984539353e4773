-- get_customer_context() is the chat widget's hot path, and building its JSON
-- from customer_services and faq at every call cost more server CPU than the
-- four plain queries it replaced. These tables hold that JSON pre-rendered,
-- kept exactly coherent by the triggers of functions/customer_context_cache.sql,
-- so a call is a few index lookups and a concatenation.
--
-- json, not jsonb: json is stored as text, so the function hands the stored
-- arrays over without parsing or re-serialising them.

-- strata:up
SET LOCAL ROLE strata_owner;

-- A workshop's active services and its own active FAQ entries (the global
-- ones live in customer_context_global and are spliced in at read time, so a
-- global edit rewrites one row, not one per workshop). A workshop without a
-- row has neither; the primary key covers the foreign key.
CREATE TABLE public.customer_context_cache (
  workshop_id uuid        PRIMARY KEY REFERENCES public.workshops (id) ON DELETE CASCADE,
  services    json        NOT NULL,
  faq         json        NOT NULL,
  rendered_at timestamptz NOT NULL DEFAULT now()
);

-- The global FAQ: a single row, which the key and its check guarantee.
CREATE TABLE public.customer_context_global (
  singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  faq         json        NOT NULL,
  rendered_at timestamptz NOT NULL DEFAULT now()
);

-- Only SECURITY DEFINER functions (the triggers and get_customer_context())
-- read and write these tables: no role is granted them (policies/).
ALTER TABLE public.customer_context_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.customer_context_cache FORCE ROW LEVEL SECURITY;
ALTER TABLE public.customer_context_global ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.customer_context_global FORCE ROW LEVEL SECURITY;

-- policies/customer_context_cache.sql is the truth for these policies; they
-- are created here as well because functions/customer_context_cache.sql fills
-- the cache as strata_owner, and repeatables of functions/ run before those
-- of policies/: at the first migrate, forced RLS without a policy would
-- refuse the rows it writes (the global row, at least), and the migrate fail.
CREATE POLICY customer_context_cache_owner_all ON public.customer_context_cache FOR ALL TO strata_owner
  USING (true) WITH CHECK (true);
CREATE POLICY customer_context_global_owner_all ON public.customer_context_global FOR ALL TO strata_owner
  USING (true) WITH CHECK (true);

-- strata:down
SET LOCAL ROLE strata_owner;

-- The triggers and functions of functions/customer_context_cache.sql go too:
-- left on customer_services and faq, the triggers would write to tables that
-- no longer exist and every edit would fail.
DROP TRIGGER IF EXISTS customer_context_insert ON public.customer_services;
DROP TRIGGER IF EXISTS customer_context_update ON public.customer_services;
DROP TRIGGER IF EXISTS customer_context_delete ON public.customer_services;
DROP TRIGGER IF EXISTS customer_context_truncate ON public.customer_services;
DROP TRIGGER IF EXISTS customer_context_insert ON public.faq;
DROP TRIGGER IF EXISTS customer_context_update ON public.faq;
DROP TRIGGER IF EXISTS customer_context_delete ON public.faq;
DROP TRIGGER IF EXISTS customer_context_truncate ON public.faq;
DROP FUNCTION IF EXISTS public.customer_context_rows_changed();
DROP FUNCTION IF EXISTS public.customer_context_truncated();
DROP FUNCTION IF EXISTS public.customer_context_render_all();
DROP FUNCTION IF EXISTS public.customer_context_render(uuid[], boolean);

DROP TABLE public.customer_context_global;
DROP TABLE public.customer_context_cache;

-- get_customer_context() as it was before this migration (it reads the tables
-- dropped above): the chat widget keeps working after a rollback, and the
-- previous release's functions/get_customer_context.sql, re-applied by its
-- next migrate, can CREATE OR REPLACE it (the return type is jsonb again).
DROP FUNCTION IF EXISTS public.get_customer_context(text);
CREATE FUNCTION public.get_customer_context(p_slug text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (
    SELECT jsonb_build_object(
      'workshop', jsonb_build_object(
        'id', w.id,
        'slug', w.slug,
        'name', w.name,
        'settings', w.settings
      ),
      'services', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                 'id', s.id,
                 'name', s.name,
                 'description', s.description,
                 'price', s.price
               ) ORDER BY s.name, s.id)
          FROM public.customer_services s
         WHERE s.workshop_id = w.id AND s.active
      ), '[]'::jsonb),
      'faq', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                 'id', f.id,
                 'scope', CASE WHEN f.workshop_id IS NULL THEN 'global' ELSE 'workshop' END,
                 'question', f.question,
                 'answer', f.answer
               ) ORDER BY f.workshop_id NULLS FIRST, f.position, f.id)
          FROM public.faq f
         WHERE (f.workshop_id = w.id OR f.workshop_id IS NULL) AND f.active
      ), '[]'::jsonb),
      'opening_hours', w.opening_hours
    )
    FROM public.workshops w
    WHERE w.slug = p_slug
  );
END
$$;

REVOKE ALL ON FUNCTION public.get_customer_context(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.get_customer_context(text) TO strata_app;
