-- The search index of a user is rewritten only when what it indexes changed. SSO sets the names on
-- every call (mostly to the same values); rewriting the trigram index each time cost CPU for nothing.
DROP TRIGGER `users_fts_au`;
--> statement-breakpoint
CREATE TRIGGER `users_fts_au` AFTER UPDATE OF first_name, last_name, email ON `users`
WHEN old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name OR old.email IS NOT new.email
BEGIN
  DELETE FROM `users_fts` WHERE rowid = old.id;
  INSERT INTO `users_fts` (rowid, full_name, email)
    VALUES (new.id, trim(new.first_name || ' ' || new.last_name), coalesce(new.email, ''));
END;
