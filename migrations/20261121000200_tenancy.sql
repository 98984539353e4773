-- Workshops are the tenants; membership in workshop_members is what every
-- row-level security policy checks.

-- strata:up
SET LOCAL ROLE strata_owner;

CREATE TYPE public.workshop_role AS ENUM ('owner', 'admin', 'staff');

CREATE TABLE public.workshops (
  id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  slug          text        NOT NULL,
  name          text        NOT NULL CHECK (btrim(name) <> ''),
  settings      jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  opening_hours jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(opening_hours) = 'object'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- The slug is the public URL of the chat assistant: lower-case, no spaces.
  CONSTRAINT workshops_slug_key UNIQUE (slug),
  CONSTRAINT workshops_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);

-- jsonb_path_ops is smaller and faster than the default opclass for the only
-- operator the application uses on settings (@>, "workshops with feature X").
CREATE INDEX workshops_settings_idx ON public.workshops USING gin (settings jsonb_path_ops);

CREATE TABLE public.users (
  id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  email        text        NOT NULL CHECK (position('@' IN email) > 1),
  display_name text        NOT NULL CHECK (btrim(display_name) <> ''),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Addresses differing only by case are the same mailbox.
CREATE UNIQUE INDEX users_email_lower_key ON public.users (lower(email));

CREATE TABLE public.workshop_members (
  workshop_id uuid                 NOT NULL REFERENCES public.workshops (id) ON DELETE CASCADE,
  user_id     uuid                 NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
  role        public.workshop_role NOT NULL DEFAULT 'staff',
  created_at  timestamptz          NOT NULL DEFAULT now(),
  PRIMARY KEY (workshop_id, user_id)
);

-- The membership helpers look up "workshops of this user" on every query
-- under RLS; the primary key leads with workshop_id and cannot serve that.
-- Including role lets the admin helper answer from the index alone.
CREATE INDEX workshop_members_user_id_idx ON public.workshop_members (user_id) INCLUDE (workshop_id, role);

-- FORCE: even the owning role is subject to the policies, so a connection
-- that ends up running as strata_owner does not silently see every tenant;
-- the owner's access is an explicit, visible policy (policies/).
ALTER TABLE public.workshops ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.workshops FORCE ROW LEVEL SECURITY;
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;
ALTER TABLE public.workshop_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.workshop_members FORCE ROW LEVEL SECURITY;

-- strata:down
SET LOCAL ROLE strata_owner;

-- One statement: the policies of users and workshops (policies/) refer to
-- workshop_members, and objects dropped together may depend on each other.
DROP TABLE public.workshop_members, public.users, public.workshops;
DROP TYPE public.workshop_role;
