-- Users and their e-mail index. Ünïcödé comment 😀 on purpose.
-- strata:no-transaction
-- strata:lock-timeout 5s

-- strata:up
CREATE TABLE app.users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL
);

CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
-- strata:down
  NEW.email := lower(NEW.email); -- the line above is body text, not a marker
  RETURN NEW;
END
$body$;

CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON app.users (email);

-- strata:down
DROP INDEX CONCURRENTLY app.users_email_idx;
DROP FUNCTION app.touch();
DROP TABLE app.users;
