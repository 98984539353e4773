-- Public content of the platform's site: anyone may read what is published,
-- only the owner role writes.

-- strata:up
SET LOCAL ROLE strata_owner;

CREATE TYPE public.content_status AS ENUM ('draft', 'published', 'archived');

CREATE TABLE public.projects (
  id           bigint                NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug         text                  NOT NULL,
  title        text                  NOT NULL CHECK (btrim(title) <> ''),
  summary      text,
  body         text                  NOT NULL DEFAULT '',
  status       public.content_status NOT NULL DEFAULT 'draft',
  published_at timestamptz,
  created_at   timestamptz           NOT NULL DEFAULT now(),
  updated_at   timestamptz           NOT NULL DEFAULT now(),
  CONSTRAINT projects_slug_key UNIQUE (slug),
  CONSTRAINT projects_published_has_date CHECK (status <> 'published' OR published_at IS NOT NULL)
);

-- The listing: published projects, newest first. Lookups by slug use the
-- unique constraint's index, so no other index is needed.
CREATE INDEX projects_published_idx ON public.projects (published_at DESC) WHERE status = 'published';

CREATE TABLE public.blog_posts (
  id           bigint                NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug         text                  NOT NULL,
  title        text                  NOT NULL CHECK (btrim(title) <> ''),
  excerpt      text,
  body         text                  NOT NULL DEFAULT '',
  category     text                  NOT NULL CHECK (category ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  status       public.content_status NOT NULL DEFAULT 'draft',
  published_at timestamptz,
  created_at   timestamptz           NOT NULL DEFAULT now(),
  updated_at   timestamptz           NOT NULL DEFAULT now(),
  CONSTRAINT blog_posts_slug_key UNIQUE (slug),
  CONSTRAINT blog_posts_published_has_date CHECK (status <> 'published' OR published_at IS NOT NULL)
);

-- The blog's two listings: all published posts by date, and one category's.
-- Neither is a prefix of the other, and drafts are left out of both.
CREATE INDEX blog_posts_published_idx ON public.blog_posts (published_at DESC) WHERE status = 'published';
CREATE INDEX blog_posts_category_published_idx ON public.blog_posts (category, published_at DESC) WHERE status = 'published';

-- Not forced: these are not tenant tables, and the owner role that writes
-- them must see drafts.
ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.blog_posts ENABLE ROW LEVEL SECURITY;

-- strata:down
SET LOCAL ROLE strata_owner;

DROP TABLE public.blog_posts;
DROP TABLE public.projects;
DROP TYPE public.content_status;
