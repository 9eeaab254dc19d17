DROP INDEX `users_clinic_type_idx`;--> statement-breakpoint
DROP INDEX `users_clinic_name_idx`;--> statement-breakpoint
CREATE INDEX `users_clinic_type_id_idx` ON `users` (`clinic_id`,`type`);--> statement-breakpoint
CREATE INDEX `users_clinic_full_name_idx` ON `users` (`clinic_id`,`first_name`,`last_name`);