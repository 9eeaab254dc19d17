CREATE TABLE `user_counts` (
	`clinic_id` integer NOT NULL,
	`type` integer NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`clinic_id`, `type`)
);
