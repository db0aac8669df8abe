CREATE TABLE `integration_refusals` (
	`integration_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`hour` integer NOT NULL,
	`cause` text NOT NULL,
	`count` integer NOT NULL,
	`last_at` integer NOT NULL,
	`last_detail` text NOT NULL,
	PRIMARY KEY(`integration_id`, `hour`, `cause`),
	FOREIGN KEY (`integration_id`) REFERENCES `integrations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `integration_refusals_hour_idx` ON `integration_refusals` (`hour`);