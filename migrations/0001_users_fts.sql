-- Substring search over users' full names and emails (GET /api_v3/users ?q, ?full_name, ?email):
-- an FTS5 table with the trigram tokenizer answers `MATCH '"abc"'` for any 3+ character substring
-- through its index, where `LIKE '%abc%'` would scan every user of the clinic.
-- Kept in sync with `users` by the triggers below.
CREATE VIRTUAL TABLE `users_fts` USING fts5(`full_name`, `email`, tokenize = 'trigram');
--> statement-breakpoint
INSERT INTO `users_fts` (rowid, full_name, email)
  SELECT id, trim(first_name || ' ' || last_name), coalesce(email, '') FROM users;
--> statement-breakpoint
CREATE TRIGGER `users_fts_ai` AFTER INSERT ON `users` BEGIN
  INSERT INTO `users_fts` (rowid, full_name, email)
    VALUES (new.id, trim(new.first_name || ' ' || new.last_name), coalesce(new.email, ''));
END;
--> statement-breakpoint
CREATE TRIGGER `users_fts_au` AFTER UPDATE OF first_name, last_name, email ON `users` BEGIN
  DELETE FROM `users_fts` WHERE rowid = old.id;
  INSERT INTO `users_fts` (rowid, full_name, email)
    VALUES (new.id, trim(new.first_name || ' ' || new.last_name), coalesce(new.email, ''));
END;
--> statement-breakpoint
CREATE TRIGGER `users_fts_ad` AFTER DELETE ON `users` BEGIN
  DELETE FROM `users_fts` WHERE rowid = old.id;
END;
