-- Custom SQL migration file, put your code below! --
-- Names for the events recorded before audit_events had them (issue 23, item 4): a user event
-- gets the user's userName in the event's tenant, a group event the group's displayName, as the
-- directory holds them NOW. An older name is therefore the current name: an event from before a
-- rename shows (and is found by) the name the resource has today, and events of resources since
-- deleted, and of every other type, stay without a name. Only events still without one are
-- touched, so a run after the new code started recording names changes none of them. One
-- statement per table, each one key lookup per event (tenant_users' and groups' primary keys).
UPDATE `audit_events` SET `resource_name` = `tu`.`user_name`, `resource_name_key` = `tu`.`user_name_key`
FROM `tenant_users` AS `tu`
WHERE `audit_events`.`resource_type` = 'USER' AND `audit_events`.`resource_name` IS NULL
  AND `tu`.`tenant_id` = `audit_events`.`tenant_id` AND `tu`.`user_id` = `audit_events`.`resource_id`;--> statement-breakpoint
UPDATE `audit_events` SET `resource_name` = `g`.`display_name`, `resource_name_key` = `g`.`display_name_key`
FROM `groups` AS `g`
WHERE `audit_events`.`resource_type` = 'GROUP' AND `audit_events`.`resource_name` IS NULL
  AND `g`.`id` = `audit_events`.`resource_id` AND `g`.`tenant_id` = `audit_events`.`tenant_id`;
