-- Leads collected by the chat assistant, and the archive the chat-history
-- trim job moves old messages to.

-- strata:up
SET LOCAL ROLE strata_owner;

CREATE TABLE public.leads (
  id                  bigint             GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workshop_id         uuid               NOT NULL REFERENCES public.workshops (id) ON DELETE CASCADE,
  -- Checked text, not an enum: enum equality is not leakproof, so under
  -- row-level security "status = $1" could not be an index condition and
  -- the application's "recent leads by status" would filter row by row.
  status              text               NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'contacted', 'qualified', 'won', 'lost')),
  contact             jsonb              NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(contact) = 'object'),
  -- Array of {role, content, at}; the application appends, the trim job
  -- moves all but the newest messages to chat_history_archive.
  chat_history        jsonb              NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(chat_history) = 'array'),
  -- How many messages were archived before chat_history[0]: the archive's
  -- positions are absolute, so a conversation reassembles in order.
  chat_history_offset integer            NOT NULL DEFAULT 0 CHECK (chat_history_offset >= 0),
  created_at          timestamptz        NOT NULL DEFAULT now(),
  updated_at          timestamptz        NOT NULL DEFAULT now()
);

-- "Recent leads of a workshop by status": equality, equality, then the sort
-- order. Leads with workshop_id, so it also covers the foreign key and the
-- policies.
CREATE INDEX leads_workshop_status_created_idx ON public.leads (workshop_id, status, created_at DESC);

-- A chat search is always "leads of this workshop whose conversation mentions
-- these words": btree_gin puts workshop_id in the same GIN index as the words.
-- Only message contents are indexed (not the role/at values, which would make
-- every lead match "user"), with the language-neutral 'simple' configuration
-- because customers write in any language. Queries must repeat the expression:
--   WHERE workshop_id = $1
--     AND to_tsvector('simple'::regconfig, jsonb_path_query_array(chat_history, '$[*].content'))
--         @@ websearch_to_tsquery('simple', $2)
CREATE INDEX leads_chat_search_idx ON public.leads USING gin (
  workshop_id,
  to_tsvector('simple'::regconfig, jsonb_path_query_array(chat_history, '$[*].content'))
);

-- The trim job looks for conversations over the cap (default 50) every hour;
-- without this it would detoast every lead's history to count its messages.
CREATE INDEX leads_chat_history_length_idx ON public.leads (jsonb_array_length(chat_history));

CREATE TABLE public.chat_history_archive (
  lead_id     bigint      NOT NULL REFERENCES public.leads (id) ON DELETE CASCADE,
  -- Absolute position in the conversation (0 = first message ever).
  position    integer     NOT NULL CHECK (position >= 0),
  workshop_id uuid        NOT NULL REFERENCES public.workshops (id) ON DELETE CASCADE,
  message     jsonb       NOT NULL CHECK (jsonb_typeof(message) = 'object'),
  -- The message's own "at"; NULL when the application did not send a valid one
  -- (the message is still archived, never dropped).
  message_at  timestamptz,
  archived_at timestamptz NOT NULL DEFAULT now(),
  -- Archiving the same message twice is an error, never a silent duplicate.
  PRIMARY KEY (lead_id, position)
);

CREATE INDEX chat_history_archive_workshop_id_idx ON public.chat_history_archive (workshop_id);

ALTER TABLE public.leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.leads FORCE ROW LEVEL SECURITY;
ALTER TABLE public.chat_history_archive ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.chat_history_archive FORCE ROW LEVEL SECURITY;

-- strata:down
SET LOCAL ROLE strata_owner;

DROP TABLE public.chat_history_archive;
DROP TABLE public.leads;
