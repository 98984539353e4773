-- Keeps customer_context_cache and customer_context_global (migration
-- 20261122000100) exactly coherent with customer_services and faq, so
-- get_customer_context() only reads pre-rendered JSON. Statement-level
-- triggers re-render the workshops a statement touched, inside the writing
-- transaction: a reader sees the cache and the rows it was rendered from
-- change together, at commit.
--
-- Everything here is SECURITY DEFINER: the writers are strata_app members
-- under RLS, who have no privilege on the cache. Nobody is granted EXECUTE;
-- firing a trigger does not check it.
SET LOCAL ROLE strata_owner;

-- Renders the given workshops' rows (NULL: every workshop) and, when
-- p_global, the global FAQ row.
--
-- Concurrency: a render reads with a snapshot, so under READ COMMITTED two
-- transactions editing different services of one workshop would each render
-- without the other's uncommitted change, and the later commit would keep a
-- stale document. Hence an advisory lock per workshop, taken BEFORE anything
-- is read and held until commit; the render statements come after it in
-- this VOLATILE function, so each takes a new snapshot once the lock is
-- granted, and sees what the previous holder committed.
--
-- A bulk statement (a seed, a backfill) would need one lock per workshop and
-- overflow the shared lock table, so every per-workshop render also holds
-- the bulk key shared, and above c_bulk workshops a render takes that key
-- exclusively instead: it waits for the per-workshop renders in flight and
-- holds off new ones until it commits. The threshold is per statement: a
-- transaction of many smaller statements keeps one key per distinct workshop
-- it touched. The global row has a key of its own.
-- Keys are always taken in the same order (bulk key, workshop keys sorted,
-- global key), so two single-statement writers cannot deadlock on them. Held
-- until commit, they can deadlock with a transaction that edits the same
-- workshop over several statements (one holds the workshop's key, the other
-- a row the first then updates); PostgreSQL aborts one with SQLSTATE 40P01,
-- which the client retries, as for any deadlock on rows.
--
-- Under REPEATABLE READ the snapshot predates the lock wait: the upsert of a
-- row that a concurrent transaction rendered meanwhile raises a
-- serialization failure (SQLSTATE 40001), which the client retries, rather
-- than writing a stale document.
CREATE OR REPLACE FUNCTION public.customer_context_render(p_workshop_ids uuid[], p_global boolean)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- Namespaces of the two-integer advisory keys: a workshop's key is the
  -- hash of its id (a collision only serialises two workshops' renders);
  -- key 0 of c_control is the bulk key, key 1 the global row's.
  c_workshop CONSTANT integer := 2026112201;
  c_control  CONSTANT integer := 2026112202;
  c_bulk     CONSTANT integer := 1000;
  v_key      integer;
BEGIN
  IF p_workshop_ids IS NULL OR cardinality(p_workshop_ids) > c_bulk THEN
    PERFORM pg_advisory_xact_lock(c_control, 0);
  ELSIF cardinality(p_workshop_ids) > 0 THEN
    PERFORM pg_advisory_xact_lock_shared(c_control, 0);
    FOR v_key IN SELECT DISTINCT hashtext(i::text) FROM unnest(p_workshop_ids) AS i ORDER BY 1 LOOP
      PERFORM pg_advisory_xact_lock(c_workshop, v_key);
    END LOOP;
  END IF;
  IF p_global THEN
    PERFORM pg_advisory_xact_lock(c_control, 1);
  END IF;

  IF p_workshop_ids IS NULL THEN
    p_workshop_ids := ARRAY(SELECT w.id FROM public.workshops w);
  END IF;
  -- Only workshops that exist: during a workshop's ON DELETE CASCADE the
  -- triggers fire for a workshop that is already gone, whose row the cascade
  -- to this table removes. The same keys and order as get_customer_context()
  -- has always returned; an unchanged document is not rewritten.
  INSERT INTO public.customer_context_cache AS c (workshop_id, services, faq, rendered_at)
  SELECT w.id,
         coalesce((
           SELECT json_agg(json_build_object(
                    'id', s.id,
                    'name', s.name,
                    'description', s.description,
                    'price', s.price
                  ) ORDER BY s.name, s.id)
             FROM public.customer_services s
            WHERE s.workshop_id = w.id AND s.active
         ), '[]'::json),
         coalesce((
           SELECT json_agg(json_build_object(
                    'id', f.id,
                    'scope', 'workshop',
                    'question', f.question,
                    'answer', f.answer
                  ) ORDER BY f.position, f.id)
             FROM public.faq f
            WHERE f.workshop_id = w.id AND f.active
         ), '[]'::json),
         clock_timestamp()
    FROM public.workshops w
   WHERE w.id = ANY (p_workshop_ids)
  ON CONFLICT (workshop_id) DO UPDATE
     SET services = excluded.services, faq = excluded.faq, rendered_at = excluded.rendered_at
   WHERE c.services::text IS DISTINCT FROM excluded.services::text
      OR c.faq::text IS DISTINCT FROM excluded.faq::text;

  IF p_global THEN
    INSERT INTO public.customer_context_global AS g (singleton, faq, rendered_at)
    SELECT true,
           coalesce(json_agg(json_build_object(
                      'id', f.id,
                      'scope', 'global',
                      'question', f.question,
                      'answer', f.answer
                    ) ORDER BY f.position, f.id), '[]'::json),
           clock_timestamp()
      FROM public.faq f
     WHERE f.workshop_id IS NULL AND f.active
    ON CONFLICT (singleton) DO UPDATE
       SET faq = excluded.faq, rendered_at = excluded.rendered_at
     WHERE g.faq::text IS DISTINCT FROM excluded.faq::text;
  END IF;
END
$$;

-- Everything, under the bulk key: after a TRUNCATE, after writes that
-- bypassed the triggers (the seed runs with session_replication_role =
-- replica), and when this file changes.
CREATE OR REPLACE FUNCTION public.customer_context_render_all()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM public.customer_context_render(NULL, true);
END
$$;

-- One function for the insert, update and delete triggers of both tables:
-- PostgreSQL allows transition tables only on single-event triggers, and
-- customer_services and faq both key their rows by workshop_id. The
-- workshops a statement touched are those of its old and new rows (a row
-- moved to another workshop re-renders both), less the workshops that no
-- longer exist (a workshop's ON DELETE CASCADE fires these triggers once per
-- workshop: nothing to render, and no lock to take). A faq row with
-- workshop_id NULL is a global entry and re-renders the global row; a
-- service always has a workshop.
CREATE OR REPLACE FUNCTION public.customer_context_rows_changed()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_ids    uuid[];
  v_global boolean;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(w.id) INTO v_ids
      FROM public.workshops w WHERE w.id IN (SELECT r.workshop_id FROM new_rows r);
    v_global := EXISTS (SELECT FROM new_rows r WHERE r.workshop_id IS NULL);
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(w.id) INTO v_ids
      FROM public.workshops w
     WHERE w.id IN (SELECT r.workshop_id FROM old_rows r UNION SELECT r.workshop_id FROM new_rows r);
    v_global := EXISTS (SELECT FROM old_rows r WHERE r.workshop_id IS NULL)
             OR EXISTS (SELECT FROM new_rows r WHERE r.workshop_id IS NULL);
  ELSE
    SELECT array_agg(w.id) INTO v_ids
      FROM public.workshops w WHERE w.id IN (SELECT r.workshop_id FROM old_rows r);
    v_global := EXISTS (SELECT FROM old_rows r WHERE r.workshop_id IS NULL);
  END IF;
  IF v_ids IS NOT NULL OR v_global THEN
    PERFORM public.customer_context_render(coalesce(v_ids, '{}'), v_global);
  END IF;
  RETURN NULL;
END
$$;

-- TRUNCATE has no transition table: everything is re-rendered.
CREATE OR REPLACE FUNCTION public.customer_context_truncated()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM public.customer_context_render_all();
  RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION public.customer_context_render(uuid[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.customer_context_render_all() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.customer_context_rows_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.customer_context_truncated() FROM PUBLIC;

-- CREATE OR REPLACE TRIGGER takes the same SHARE ROW EXCLUSIVE lock as
-- CREATE TRIGGER, where DROP TRIGGER would block readers of the tables until
-- this file's transaction (and its full re-render) commits.
CREATE OR REPLACE TRIGGER customer_context_insert AFTER INSERT ON public.customer_services
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_rows_changed();
CREATE OR REPLACE TRIGGER customer_context_update AFTER UPDATE ON public.customer_services
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_rows_changed();
CREATE OR REPLACE TRIGGER customer_context_delete AFTER DELETE ON public.customer_services
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_rows_changed();
CREATE OR REPLACE TRIGGER customer_context_truncate AFTER TRUNCATE ON public.customer_services
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_truncated();

CREATE OR REPLACE TRIGGER customer_context_insert AFTER INSERT ON public.faq
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_rows_changed();
CREATE OR REPLACE TRIGGER customer_context_update AFTER UPDATE ON public.faq
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_rows_changed();
CREATE OR REPLACE TRIGGER customer_context_delete AFTER DELETE ON public.faq
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_rows_changed();
CREATE OR REPLACE TRIGGER customer_context_truncate AFTER TRUNCATE ON public.faq
  FOR EACH STATEMENT EXECUTE FUNCTION public.customer_context_truncated();

-- Rebuilt whenever this file runs: a changed rendering above must not leave
-- documents rendered the old way, and a database that held workshops before
-- the cache existed (or was loaded with the triggers off) gets filled. Same
-- transaction as the trigger changes, so no write slips between the two.
SELECT public.customer_context_render_all();
