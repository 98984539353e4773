-- Monthly range partitions (UTC bounds) for any table range-partitioned on
-- one timestamptz column; the partition job calls ensure_monthly_partitions
-- and detach_monthly_partition as strata_worker. They are SECURITY DEFINER
-- because creating, attaching and detaching partitions needs ownership of
-- the parent table.
--
-- create_monthly_partition is also defined, as of its version then, by
-- migration 20261121000500 (which needs it before repeatables run); this file
-- is its current definition.
SET LOCAL ROLE strata_owner;

CREATE OR REPLACE FUNCTION public.create_monthly_partition(
  p_parent regclass,
  p_month date,
  OUT partition_name regclass,
  OUT created boolean,
  OUT rows_moved bigint
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET "TimeZone" = 'UTC'
AS $fn$
DECLARE
  v_schema  text;
  v_table   text;
  v_key     text;
  v_month   date;
  v_from    timestamptz;
  v_to      timestamptz;
  v_name    text;
  v_default regclass;
  v_columns text;
BEGIN
  IF p_parent IS NULL OR p_month IS NULL THEN
    RAISE EXCEPTION 'create_monthly_partition: parent and month are required';
  END IF;

  SELECT n.nspname, c.relname, a.attname
    INTO v_schema, v_table, v_key
    FROM pg_partitioned_table pt
    JOIN pg_class c ON c.oid = pt.partrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
   WHERE pt.partrelid = p_parent
     AND pt.partstrat = 'r'
     AND pt.partnatts = 1
     AND a.atttypid = 'timestamptz'::regtype;
  IF v_key IS NULL THEN
    RAISE EXCEPTION 'create_monthly_partition: % is not range-partitioned on one timestamptz column', p_parent;
  END IF;

  -- Bounds are UTC midnights whatever the caller's TimeZone.
  v_month := p_month - (extract(day FROM p_month)::integer - 1);
  v_from  := v_month::timestamp AT TIME ZONE 'UTC';
  v_to    := (v_month + interval '1 month') AT TIME ZONE 'UTC';
  v_name  := v_table || '_' || to_char(v_month, 'YYYY_MM');
  rows_moved := 0;

  -- Checked before and after taking the lock: the hourly job's usual case
  -- (the month exists) takes no lock at all, and the lock, which conflicts
  -- with itself but not with reads or writes of the parent, serialises
  -- concurrent creators of the same month.
  FOR attempt IN 1..2 LOOP
    SELECT c.oid::regclass INTO partition_name
      FROM pg_class c
     WHERE c.relnamespace = v_schema::regnamespace AND c.relname = v_name;
    IF partition_name IS NOT NULL THEN
      IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = partition_name AND inhparent = p_parent) THEN
        RAISE EXCEPTION 'create_monthly_partition: % exists but is not a partition of % (detached by retention?)',
          partition_name, p_parent;
      END IF;
      created := false;
      RETURN;
    END IF;
    IF attempt = 1 THEN
      EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', p_parent);
    END IF;
  END LOOP;

  SELECT c.oid::regclass INTO v_default
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = p_parent AND c.relpartbound IS NOT NULL
     AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO v_columns
    FROM pg_attribute
   WHERE attrelid = p_parent AND attnum > 0 AND NOT attisdropped;

  -- Created standalone then attached: ATTACH only needs SHARE UPDATE
  -- EXCLUSIVE on the parent where CREATE ... PARTITION OF needs ACCESS
  -- EXCLUSIVE, so the hourly job never blocks the application's queries.
  EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)',
    v_schema, v_name, p_parent);

  -- Rows of this month sitting in the default partition would make ATTACH
  -- fail; they are moved instead. The DELETE goes through the parent so the
  -- owner's policy applies (the default partition itself shows no rows).
  IF v_default IS NOT NULL THEN
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_default);
    EXECUTE format(
      'WITH moved AS (DELETE FROM %1$s WHERE %2$I >= $1 AND %2$I < $2 RETURNING %3$s) '
      'INSERT INTO %4$I.%5$I (%3$s) SELECT %3$s FROM moved',
      p_parent, v_key, v_columns, v_schema, v_name)
      USING v_from, v_to;
    GET DIAGNOSTICS rows_moved = ROW_COUNT;
  END IF;

  -- Attaching creates the parent's indexes, primary key and foreign keys.
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
    p_parent, v_schema, v_name, v_from, v_to);

  -- Same protections as every other partition: direct reads see nothing.
  EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', v_schema, v_name);
  EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', v_schema, v_name);
  EXECUTE format('REVOKE ALL ON TABLE %I.%I FROM PUBLIC, strata_app, strata_worker, strata_readonly', v_schema, v_name);

  partition_name := format('%I.%I', v_schema, v_name)::regclass;
  created := true;
END
$fn$;

-- Idempotent: the months from p_from's (default: the current UTC month)
-- through p_months_ahead after it, one row per month, created or not.
CREATE OR REPLACE FUNCTION public.ensure_monthly_partitions(
  p_parent regclass,
  p_months_ahead integer DEFAULT 3,
  p_from date DEFAULT NULL
)
RETURNS TABLE (partition_name regclass, created boolean, rows_moved bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET "TimeZone" = 'UTC'
AS $fn$
DECLARE
  v_from date := coalesce(p_from, (now() AT TIME ZONE 'UTC')::date);
BEGIN
  IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 36 THEN
    RAISE EXCEPTION 'ensure_monthly_partitions: months ahead must be between 0 and 36, got %', p_months_ahead;
  END IF;
  FOR i IN 0..p_months_ahead LOOP
    RETURN QUERY
      SELECT c.partition_name, c.created, c.rows_moved
        FROM public.create_monthly_partition(p_parent, (v_from + make_interval(months => i))::date) AS c;
  END LOOP;
END
$fn$;

-- Retention: detaches the month's partition (it keeps its RLS, forced, with
-- no policy and no grants, so nobody but a superuser reads it) and drops it
-- when p_drop. Returns the detached table (NULL once dropped or if the
-- month has no partition), so the job can report what it did.
CREATE OR REPLACE FUNCTION public.detach_monthly_partition(
  p_parent regclass,
  p_month date,
  p_drop boolean DEFAULT false
)
RETURNS regclass
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET "TimeZone" = 'UTC'
AS $fn$
DECLARE
  v_month date := p_month - (extract(day FROM p_month)::integer - 1);
  v_from  timestamptz := v_month::timestamp AT TIME ZONE 'UTC';
  v_part  regclass;
BEGIN
  -- Found by its bound rather than its name, so a partition created some
  -- other way is handled too.
  SELECT c.oid::regclass INTO v_part
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = p_parent
     AND pg_get_expr(c.relpartbound, c.oid) =
         format('FOR VALUES FROM (%L) TO (%L)', v_from, (v_month + interval '1 month') AT TIME ZONE 'UTC');
  IF v_part IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', p_parent, v_part);
  IF p_drop THEN
    EXECUTE format('DROP TABLE %s', v_part);
    RETURN NULL;
  END IF;
  RETURN v_part;
END
$fn$;

REVOKE ALL ON FUNCTION public.create_monthly_partition(regclass, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.ensure_monthly_partitions(regclass, integer, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.detach_monthly_partition(regclass, date, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.create_monthly_partition(regclass, date) TO strata_worker;
GRANT EXECUTE ON FUNCTION public.ensure_monthly_partitions(regclass, integer, date) TO strata_worker;
GRANT EXECUTE ON FUNCTION public.detach_monthly_partition(regclass, date, boolean) TO strata_worker;
