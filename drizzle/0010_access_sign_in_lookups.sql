CREATE INDEX `tenant_user_emails_sign_in_idx` ON `tenant_user_emails` (`value_key`);--> statement-breakpoint
CREATE INDEX `tenant_users_sign_in_idx` ON `tenant_users` (`user_name_key`);