CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`clinic_id` integer,
	`event` text NOT NULL,
	`outcome` text NOT NULL,
	`actor_user_id` integer,
	`subject_user_id` integer,
	`ip` text,
	`user_agent` text,
	`request_id` text,
	`details` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_clinic_idx` ON `audit_log` (`clinic_id`,`id`);--> statement-breakpoint
CREATE INDEX `audit_clinic_event_idx` ON `audit_log` (`clinic_id`,`event`,`id`);--> statement-breakpoint
CREATE INDEX `audit_created_idx` ON `audit_log` (`created_at`);--> statement-breakpoint
CREATE TABLE `auth_failures` (
	`clinic_id` integer NOT NULL,
	`key_hash` text NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`lockouts` integer DEFAULT 0 NOT NULL,
	`locked_until` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`clinic_id`, `key_hash`)
);
--> statement-breakpoint
CREATE TABLE `clinics` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`code` text NOT NULL,
	`name` text NOT NULL,
	`domain` text NOT NULL,
	`portal_base_url` text,
	`sso_enabled` integer DEFAULT false NOT NULL,
	`signup_mode` text DEFAULT 'open' NOT NULL,
	`eligibility` text,
	`default_heartbeat` integer DEFAULT 300 NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`api_key_hash` text NOT NULL,
	`api_key_prefix` text NOT NULL,
	`disabled` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clinics_code_uq` ON `clinics` (`code`);--> statement-breakpoint
CREATE TABLE `codes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`clinic_id` integer NOT NULL,
	`user_id` integer,
	`purpose` text NOT NULL,
	`code_hash` text NOT NULL,
	`payload` text DEFAULT '{}' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE INDEX `codes_user_idx` ON `codes` (`clinic_id`,`user_id`,`purpose`);--> statement-breakpoint
CREATE TABLE `invitations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`clinic_id` integer NOT NULL,
	`code_hash` text NOT NULL,
	`waitlist_id` integer,
	`email` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`used_by` integer,
	FOREIGN KEY (`waitlist_id`) REFERENCES `waitlist`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_hash_uq` ON `invitations` (`clinic_id`,`code_hash`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`clinic_id` integer NOT NULL,
	`channel` text NOT NULL,
	`recipient` text NOT NULL,
	`template` text NOT NULL,
	`subject` text DEFAULT '' NOT NULL,
	`body_text` text NOT NULL,
	`body_html` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`claimed_until` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE INDEX `outbox_due_idx` ON `outbox` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `outbox_clinic_idx` ON `outbox` (`clinic_id`,`id`);--> statement-breakpoint
CREATE TABLE `refresh_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`clinic_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`replaced_by` text,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `refresh_tokens_session_idx` ON `refresh_tokens` (`session_id`);--> statement-breakpoint
CREATE TABLE `room_members` (
	`room_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`clinic_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`room_id`, `user_id`),
	FOREIGN KEY (`room_id`) REFERENCES `rooms`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `room_members_user_idx` ON `room_members` (`user_id`);--> statement-breakpoint
CREATE TABLE `rooms` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`clinic_id` integer NOT NULL,
	`code` text NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`domain` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`clinic_id`) REFERENCES `clinics`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rooms_clinic_code_uq` ON `rooms` (`clinic_id`,`code`);--> statement-breakpoint
CREATE UNIQUE INDEX `rooms_clinic_domain_slug_uq` ON `rooms` (`clinic_id`,`domain`,`slug`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`clinic_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`kind` text NOT NULL,
	`access_hash` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`sso_burnt_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`,`revoked_at`);--> statement-breakpoint
CREATE INDEX `sessions_access_idx` ON `sessions` (`access_hash`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`clinic_id` integer NOT NULL,
	`code` text NOT NULL,
	`type` integer NOT NULL,
	`subtype` integer,
	`status` integer DEFAULT 20 NOT NULL,
	`disabled` integer DEFAULT false NOT NULL,
	`username` text NOT NULL,
	`email` text,
	`email_verified` integer DEFAULT false NOT NULL,
	`mobile_no` text,
	`mobile_verified` integer DEFAULT false NOT NULL,
	`password_hash` text,
	`first_name` text DEFAULT '' NOT NULL,
	`last_name` text DEFAULT '' NOT NULL,
	`dob` text,
	`gender` text,
	`phone` text,
	`street_addr` text,
	`city` text,
	`state` text,
	`zip` text,
	`timezone` text,
	`nationality` text,
	`pcp_name` text,
	`pcp_phone` text,
	`photo` text,
	`tos` integer DEFAULT false NOT NULL,
	`disable_emails` integer DEFAULT false NOT NULL,
	`is_hidden` integer DEFAULT false NOT NULL,
	`roles` text DEFAULT '' NOT NULL,
	`group_name` text,
	`mfa_secret` text,
	`mfa_enabled` integer DEFAULT false NOT NULL,
	`mfa_last_step` integer,
	`is_first_login` integer DEFAULT true NOT NULL,
	`extra` text DEFAULT '{}' NOT NULL,
	`details` text DEFAULT '{}' NOT NULL,
	`is_doctor` integer DEFAULT false NOT NULL,
	`last_login` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`clinic_id`) REFERENCES `clinics`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_clinic_code_uq` ON `users` (`clinic_id`,`code`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_clinic_username_uq` ON `users` (`clinic_id`,`username`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_clinic_email_uq` ON `users` (`clinic_id`,lower("email")) WHERE "users"."email" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `users_clinic_mobile_uq` ON `users` (`clinic_id`,`mobile_no`) WHERE "users"."mobile_no" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `users_clinic_type_idx` ON `users` (`clinic_id`,`type`,`last_name`,`first_name`);--> statement-breakpoint
CREATE INDEX `users_clinic_status_idx` ON `users` (`clinic_id`,`status`);--> statement-breakpoint
CREATE INDEX `users_clinic_name_idx` ON `users` (`clinic_id`,`last_name`,`first_name`);--> statement-breakpoint
CREATE INDEX `users_clinic_group_idx` ON `users` (`clinic_id`,`group_name`);--> statement-breakpoint
CREATE TABLE `waitlist` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`clinic_id` integer NOT NULL,
	`email` text,
	`mobile_no` text,
	`personal_details` text DEFAULT '{}' NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`created_at` integer NOT NULL,
	`approved_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `waitlist_clinic_email_uq` ON `waitlist` (`clinic_id`,lower("email")) WHERE "waitlist"."email" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `waitlist_clinic_status_idx` ON `waitlist` (`clinic_id`,`status`);