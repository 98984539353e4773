-- Creating a workshop: the new row is invisible to its creator until they
-- are a member, and membership can only be granted by an admin of the
-- workshop, so the application cannot do it with two INSERTs under RLS.
-- This function does both, making the current user the owner.
SET LOCAL ROLE strata_owner;

CREATE OR REPLACE FUNCTION public.create_workshop(p_slug text, p_name text)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  v_user uuid := public.app_current_user_id();
  v_id   uuid;
BEGIN
  IF v_user IS NULL THEN
    RAISE EXCEPTION 'create_workshop: no current user (set app.user_id)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO public.workshops (slug, name) VALUES (p_slug, p_name) RETURNING id INTO v_id;
  INSERT INTO public.workshop_members (workshop_id, user_id, role) VALUES (v_id, v_user, 'owner');
  RETURN v_id;
END
$fn$;

REVOKE ALL ON FUNCTION public.create_workshop(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.create_workshop(text, text) TO strata_app;
