-- Per-patient care records (README "Register family"): care teams, the listing versions, live sockets.
CREATE TABLE `care_team_members` (
	`clinic_id` integer NOT NULL,
	`patient_id` integer NOT NULL REFERENCES `users`(`id`),
	`member_user_id` integer NOT NULL REFERENCES `users`(`id`),
	`member_group` text NOT NULL,
	`added_by` integer,
	`added_at` integer NOT NULL,
	PRIMARY KEY(`clinic_id`, `patient_id`, `member_user_id`)
);
--> statement-breakpoint
CREATE INDEX `care_team_members_member_idx` ON `care_team_members` (`clinic_id`,`member_user_id`,`patient_id`);
--> statement-breakpoint
CREATE TABLE `care_records` (
	`clinic_id` integer NOT NULL,
	`patient_id` integer NOT NULL,
	`version` integer NOT NULL DEFAULT 0,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`clinic_id`, `patient_id`)
);
--> statement-breakpoint
CREATE TABLE `care_live` (
	`session_id` text NOT NULL,
	`clinic_id` integer NOT NULL,
	`record` text NOT NULL,
	PRIMARY KEY(`session_id`, `record`)
);
--> statement-breakpoint
CREATE INDEX `care_live_clinic_idx` ON `care_live` (`clinic_id`);
--> statement-breakpoint
-- Existing clinics keep today's behaviour until an operator switches: the one shared care record, and
-- patients registering themselves. New clinics get per_patient and no self-registration (services/clinics.ts).
UPDATE `clinics` SET `settings` = json_set(
	`settings`,
	'$.careRecordMode', 'shared',
	'$.selfRegisterGroups', json_insert(coalesce(json_extract(`settings`, '$.selfRegisterGroups'), json_array()), '$[#]', 'patients')
) WHERE json_extract(`settings`, '$.careRecordMode') IS NULL;
