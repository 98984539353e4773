-- Training modules, each member's progress, and the leaderboard built from it.

-- strata:up
SET LOCAL ROLE strata_owner;

-- The module catalogue is platform content, shared by every workshop.
CREATE TABLE public.modules (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug       text        NOT NULL,
  title      text        NOT NULL CHECK (btrim(title) <> ''),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT modules_slug_key UNIQUE (slug)
);

CREATE TABLE public.workshop_progress (
  user_id     uuid                   NOT NULL,
  workshop_id uuid                   NOT NULL,
  module_id   bigint                 NOT NULL REFERENCES public.modules (id) ON DELETE CASCADE,
  -- Checked text rather than an enum for the same reason as leads.status:
  -- text equality is leakproof, so it stays an index condition under RLS.
  status      text                   NOT NULL DEFAULT 'not_started'
              CHECK (status IN ('not_started', 'in_progress', 'completed')),
  score       numeric(5,2)           CHECK (score BETWEEN 0 AND 100),
  updated_at  timestamptz            NOT NULL DEFAULT now(),
  PRIMARY KEY (workshop_id, user_id, module_id),
  -- Progress only exists for members: leaving a workshop removes it, and the
  -- primary key's prefix covers this foreign key.
  FOREIGN KEY (workshop_id, user_id) REFERENCES public.workshop_members (workshop_id, user_id) ON DELETE CASCADE,
  CONSTRAINT workshop_progress_completed_has_score CHECK (status <> 'completed' OR score IS NOT NULL)
);

-- A user's recent completions (profile page, "what did I finish lately").
CREATE INDEX workshop_progress_user_completed_idx ON public.workshop_progress (user_id, updated_at DESC)
  WHERE status = 'completed';
CREATE INDEX workshop_progress_module_id_idx ON public.workshop_progress (module_id);

ALTER TABLE public.workshop_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.workshop_progress FORCE ROW LEVEL SECURITY;

-- Rank per workshop: most modules completed in the last 30 days, then best
-- average score. The 30-day window is evaluated at each refresh. Materialized
-- views have no row-level security, so no application role is granted this
-- view: they read it through workshop_leaderboard_for_member(), which keeps
-- only the caller's workshops.
CREATE MATERIALIZED VIEW public.workshop_leaderboard AS
SELECT
  p.workshop_id,
  p.user_id,
  count(*)::integer                                        AS completed_modules,
  round(avg(p.score), 2)                                   AS average_score,
  rank() OVER (PARTITION BY p.workshop_id
               ORDER BY count(*) DESC, avg(p.score) DESC)::integer AS rank,
  max(p.updated_at)                                        AS last_completed_at,
  now()                                                    AS refreshed_at
FROM public.workshop_progress p
WHERE p.status = 'completed'
  AND p.updated_at >= now() - interval '30 days'
GROUP BY p.workshop_id, p.user_id
WITH DATA;

-- REFRESH ... CONCURRENTLY requires a unique index on plain columns that
-- covers every row; (workshop_id, user_id) is the view's grouping key.
CREATE UNIQUE INDEX workshop_leaderboard_workshop_user_key ON public.workshop_leaderboard (workshop_id, user_id);
-- A workshop's top N in rank order.
CREATE INDEX workshop_leaderboard_workshop_rank_idx ON public.workshop_leaderboard (workshop_id, rank);
-- The platform-wide top N (reporting).
CREATE INDEX workshop_leaderboard_global_idx ON public.workshop_leaderboard (completed_modules DESC, average_score DESC);

-- strata:down
SET LOCAL ROLE strata_owner;

DROP FUNCTION IF EXISTS public.workshop_leaderboard_for_member(uuid, integer);
DROP FUNCTION IF EXISTS public.refresh_workshop_leaderboard();
DROP MATERIALIZED VIEW public.workshop_leaderboard;
DROP TABLE public.workshop_progress;
DROP TABLE public.modules;
