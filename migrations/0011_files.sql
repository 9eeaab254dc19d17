CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`clinic_id` integer NOT NULL,
	`owner_id` integer NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `files_owner_idx` ON `files` (`clinic_id`,`owner_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `files_created_idx` ON `files` (`created_at`);--> statement-breakpoint
CREATE INDEX `users_photo_idx` ON `users` (`clinic_id`,`photo`) WHERE "users"."photo" IS NOT NULL;
