-- What the chat assistant tells customers: a workshop's services and the FAQ
-- (global rows have workshop_id NULL).

-- strata:up
SET LOCAL ROLE strata_owner;

CREATE TABLE public.customer_services (
  id          bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workshop_id uuid          NOT NULL REFERENCES public.workshops (id) ON DELETE CASCADE,
  name        text          NOT NULL CHECK (btrim(name) <> ''),
  description text,
  price       numeric(10,2) NOT NULL CHECK (price >= 0),
  active      boolean       NOT NULL DEFAULT true,
  created_at  timestamptz   NOT NULL DEFAULT now(),
  updated_at  timestamptz   NOT NULL DEFAULT now()
);

-- Covers the foreign key and the policies (which see inactive rows too); the
-- partial index below cannot, because of its predicate.
CREATE INDEX customer_services_workshop_id_idx ON public.customer_services (workshop_id);
-- The hot read: a workshop's active services by name, answered from the index.
CREATE INDEX customer_services_active_idx ON public.customer_services (workshop_id, name) INCLUDE (price)
  WHERE active;

CREATE TABLE public.faq (
  id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- NULL: a platform-wide entry shown to every workshop's customers.
  workshop_id uuid        REFERENCES public.workshops (id) ON DELETE CASCADE,
  question    text        NOT NULL CHECK (btrim(question) <> ''),
  answer      text        NOT NULL CHECK (btrim(answer) <> ''),
  position    integer     NOT NULL DEFAULT 0,
  active      boolean     NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX faq_workshop_id_idx ON public.faq (workshop_id);
-- Serves both halves of "workshop_id = $1 OR workshop_id IS NULL" (a B-tree
-- indexes NULLs) in display order.
CREATE INDEX faq_active_idx ON public.faq (workshop_id, position) WHERE active;

ALTER TABLE public.customer_services ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.customer_services FORCE ROW LEVEL SECURITY;
ALTER TABLE public.faq ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.faq FORCE ROW LEVEL SECURITY;

-- strata:down
SET LOCAL ROLE strata_owner;

DROP TABLE public.faq;
DROP TABLE public.customer_services;
