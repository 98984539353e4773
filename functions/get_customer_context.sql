-- Everything the chat assistant needs about a workshop, as one JSON document
-- in one round trip (it replaces four queries: workshop, active services,
-- global + workshop FAQ, opening hours). NULL for an unknown slug.
--
-- SECURITY DEFINER because the caller is an anonymous customer of the
-- workshop (no app.user_id): the document is what the workshop publishes to
-- its customers, and nothing else is reachable through it.
SET LOCAL ROLE strata_owner;

-- PL/pgSQL so the plan is prepared once per session (a SQL function with
-- SECURITY DEFINER is re-planned at every call before PostgreSQL 18).
CREATE OR REPLACE FUNCTION public.get_customer_context(p_slug text)
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
      -- Global entries first, then the workshop's own, each in display order.
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
