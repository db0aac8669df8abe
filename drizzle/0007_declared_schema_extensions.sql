CREATE TABLE `scim_schemas` (
	`tenant_id` text NOT NULL,
	`urn` text NOT NULL,
	`urn_key` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`attributes` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `urn_key`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `tenant_user_values` (
	`tenant_id` text NOT NULL,
	`attribute` text NOT NULL,
	`value_key` text NOT NULL,
	`user_id` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `attribute`, `value_key`),
	FOREIGN KEY (`tenant_id`,`user_id`) REFERENCES `tenant_users`(`tenant_id`,`user_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `tenant_user_values_user_idx` ON `tenant_user_values` (`tenant_id`,`user_id`);