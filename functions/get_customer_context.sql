-- Everything the chat assistant needs about a workshop, as one JSON document
-- in one round trip (it replaces four queries: workshop, active services,
-- global + workshop FAQ, opening hours). NULL for an unknown slug.
--
-- SECURITY DEFINER because the caller is an anonymous customer of the
-- workshop (no app.user_id): the document is what the workshop publishes to
-- its customers, and nothing else is reachable through it.
--
-- The widget calls it on every chat turn, and aggregating the services and
-- FAQ into JSON at each call cost more server CPU than the four queries. The
-- arrays come pre-rendered from customer_context_cache and
-- customer_context_global (kept coherent by functions/customer_context_cache.sql),
-- so a call is three index lookups (the workshop by slug, its cache row, the
-- global row) and text concatenation. json rather than jsonb: the stored text
-- is passed through as it is, never parsed or re-serialised.
SET LOCAL ROLE strata_owner;

-- The return type was jsonb before the cache: CREATE OR REPLACE cannot change it.
DROP FUNCTION IF EXISTS public.get_customer_context(text);

-- PL/pgSQL so the plan is prepared once per session (a SQL function with
-- SECURITY DEFINER is re-planned at every call before PostgreSQL 18).
CREATE FUNCTION public.get_customer_context(p_slug text)
RETURNS json
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (
    SELECT json_build_object(
      'workshop', json_build_object(
        'id', w.id,
        'slug', w.slug,
        'name', w.name,
        'settings', w.settings
      ),
      -- No cache row: the workshop has no services and no FAQ of its own.
      'services', coalesce(c.services, '[]'::json),
      -- Global entries first, then the workshop's own, each in display
      -- order. Both arrays are json_agg output or '[]', so splicing their
      -- text is valid JSON; only that splice is parsed again.
      'faq', CASE
               WHEN c.faq IS NULL OR c.faq::text = '[]' THEN coalesce(g.faq, '[]'::json)
               WHEN g.faq IS NULL OR g.faq::text = '[]' THEN c.faq
               ELSE (left(g.faq::text, -1) || ', ' || substr(c.faq::text, 2))::json
             END,
      'opening_hours', w.opening_hours
    )
    FROM public.workshops w
    LEFT JOIN public.customer_context_cache c ON c.workshop_id = w.id
    LEFT JOIN public.customer_context_global g ON g.singleton
    WHERE w.slug = p_slug
  );
END
$$;

REVOKE ALL ON FUNCTION public.get_customer_context(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.get_customer_context(text) TO strata_app;
