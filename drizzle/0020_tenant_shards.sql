CREATE TABLE `identity_links` (
	`user_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	PRIMARY KEY(`user_id`, `tenant_id`)
);
--> statement-breakpoint
CREATE TABLE `move_passes` (
	`id` integer PRIMARY KEY NOT NULL
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `shard` text DEFAULT 'DB' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `frozen` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `move_to` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `move_state` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `move_copied` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `move_total` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `move_started_at` integer;