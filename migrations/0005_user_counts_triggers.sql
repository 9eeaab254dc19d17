-- Keeps `user_counts` (users per clinic and type) in step with `users`, and fills it from the users
-- already there. Every write of a user's clinic or type goes through these triggers, in the same
-- statement, so the counts are exact.
CREATE TRIGGER `user_counts_ai` AFTER INSERT ON `users` BEGIN
  INSERT INTO `user_counts` (clinic_id, type, n) VALUES (new.clinic_id, new.type, 1)
    ON CONFLICT (clinic_id, type) DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `user_counts_ad` AFTER DELETE ON `users` BEGIN
  UPDATE `user_counts` SET n = n - 1 WHERE clinic_id = old.clinic_id AND type = old.type;
END;
--> statement-breakpoint
CREATE TRIGGER `user_counts_au` AFTER UPDATE OF clinic_id, type ON `users`
WHEN old.clinic_id IS NOT new.clinic_id OR old.type IS NOT new.type
BEGIN
  UPDATE `user_counts` SET n = n - 1 WHERE clinic_id = old.clinic_id AND type = old.type;
  INSERT INTO `user_counts` (clinic_id, type, n) VALUES (new.clinic_id, new.type, 1)
    ON CONFLICT (clinic_id, type) DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
INSERT INTO `user_counts` (clinic_id, type, n) SELECT clinic_id, type, count(*) FROM users GROUP BY clinic_id, type;
