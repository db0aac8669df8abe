DROP TABLE `user_emails`;--> statement-breakpoint
DROP INDEX `users_manager_idx`;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `profile`;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `manager_id`;--> statement-breakpoint
CREATE UNIQUE INDEX `tenant_users_user_name_key_unique` ON `tenant_users` (`tenant_id`,`user_name_key`);