ALTER TABLE `tenant_users` ADD `display_name` text;--> statement-breakpoint
CREATE INDEX `tenant_users_display_idx` ON `tenant_users` (`tenant_id`,`user_id`,`display_name`,`user_name`);