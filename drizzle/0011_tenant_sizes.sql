CREATE TABLE `tenant_sizes` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`views` integer DEFAULT 0 NOT NULL,
	`view_units` integer DEFAULT 0 NOT NULL,
	`max_view_units` integer DEFAULT 1 NOT NULL,
	`elements` integer DEFAULT 0 NOT NULL,
	`emails` integer DEFAULT 0 NOT NULL,
	`groups` integer DEFAULT 0 NOT NULL,
	`memberships` integer DEFAULT 0 NOT NULL,
	`unique_values` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
