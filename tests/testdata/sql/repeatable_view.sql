-- strata:statement-timeout 1min
/* Recreated whenever it changes. */
CREATE OR REPLACE VIEW app.active_users AS
  SELECT id, email FROM app.users WHERE email <> '';
