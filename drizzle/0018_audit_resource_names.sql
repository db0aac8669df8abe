ALTER TABLE `audit_events` ADD `resource_name` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `resource_name_key` text;--> statement-breakpoint
CREATE INDEX `audit_events_resource_name_idx` ON `audit_events` (`tenant_id`,`resource_name_key`,`id`) WHERE "audit_events"."resource_name_key" is not null;