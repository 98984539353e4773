-- The chat-history trim: caps leads.chat_history at p_cap messages, moving
-- the older ones to chat_history_archive, one batch per call (the job loops
-- until a call trims nothing, committing between calls).
--
-- SECURITY INVOKER: the worker runs it with its own grants and policies.
-- Nothing can be lost to a concurrent append: the batch is locked FOR UPDATE
-- before it is read (an appending transaction either committed before, and
-- its message is in what we read, or waits for us and appends to the trimmed
-- array), archiving and trimming are one statement, and the archive's
-- primary key (lead_id, position) turns a double archive into an error.
-- Locked leads are skipped, not waited for; the next call picks them up.
SET LOCAL ROLE strata_owner;

CREATE OR REPLACE FUNCTION public.trim_chat_histories(
  p_cap integer DEFAULT 50,
  p_batch_size integer DEFAULT 500,
  OUT leads_trimmed bigint,
  OUT messages_archived bigint
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- An "at" without an offset is read as UTC, whoever calls.
SET "TimeZone" = 'UTC'
AS $fn$
BEGIN
  IF p_cap IS NULL OR p_cap < 1 THEN
    RAISE EXCEPTION 'trim_chat_histories: cap must be at least 1, got %', p_cap;
  END IF;
  IF p_batch_size IS NULL OR p_batch_size < 1 THEN
    RAISE EXCEPTION 'trim_chat_histories: batch size must be at least 1, got %', p_batch_size;
  END IF;

  WITH batch AS (
    SELECT l.id, l.workshop_id, l.chat_history, l.chat_history_offset,
           jsonb_array_length(l.chat_history) - p_cap AS n_trim
      FROM public.leads l
     WHERE jsonb_array_length(l.chat_history) > p_cap
     ORDER BY jsonb_array_length(l.chat_history) DESC
     LIMIT p_batch_size
       FOR UPDATE SKIP LOCKED
  ),
  archived AS (
    INSERT INTO public.chat_history_archive (lead_id, position, workshop_id, message, message_at)
    SELECT b.id,
           b.chat_history_offset + (e.ord - 1)::integer,
           b.workshop_id,
           -- A non-object message is wrapped, never dropped.
           CASE WHEN jsonb_typeof(e.msg) = 'object' THEN e.msg ELSE jsonb_build_object('value', e.msg) END,
           CASE WHEN e.msg ->> 'at' ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$'
                THEN (e.msg ->> 'at')::timestamptz END
      FROM batch b
     CROSS JOIN LATERAL jsonb_array_elements(b.chat_history) WITH ORDINALITY AS e(msg, ord)
     WHERE e.ord <= b.n_trim
    RETURNING 1
  ),
  trimmed AS (
    UPDATE public.leads l
       SET chat_history = (
             SELECT coalesce(jsonb_agg(e.msg ORDER BY e.ord), '[]'::jsonb)
               FROM jsonb_array_elements(b.chat_history) WITH ORDINALITY AS e(msg, ord)
              WHERE e.ord > b.n_trim
           ),
           chat_history_offset = b.chat_history_offset + b.n_trim
      FROM batch b
     WHERE l.id = b.id
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM trimmed), (SELECT count(*) FROM archived)
    INTO leads_trimmed, messages_archived;
END
$fn$;

REVOKE ALL ON FUNCTION public.trim_chat_histories(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.trim_chat_histories(integer, integer) TO strata_worker;
