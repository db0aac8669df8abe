CREATE TABLE `tenant_user_emails` (
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`position` integer NOT NULL,
	`value` text NOT NULL,
	`value_key` text NOT NULL,
	`type` text,
	`display` text,
	`is_primary` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`tenant_id`, `user_id`, `position`),
	FOREIGN KEY (`tenant_id`,`user_id`) REFERENCES `tenant_users`(`tenant_id`,`user_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `tenant_user_emails_value_key_idx` ON `tenant_user_emails` (`tenant_id`,`value_key`);--> statement-breakpoint
ALTER TABLE `tenant_users` ADD `user_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenant_users` ADD `user_name_key` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenant_users` ADD `profile` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenant_users` ADD `manager_id` text;--> statement-breakpoint
CREATE INDEX `tenant_users_manager_idx` ON `tenant_users` (`tenant_id`,`manager_id`);