-- Custom SQL migration file, put your code below! --
-- Per-tenant views (issue: tenant isolation). Every tenant linked to a user starts with the
-- profile it saw before: the global userName, profile, manager and emails are copied into each
-- of the user's tenant_users rows. Nothing is deleted here; 0004 drops the global columns.
-- A user no tenant has access to any more (every tenant's SCIM DELETE revoked it) has no view
-- to receive its profile: its identity (id, userName) stays, its profile and emails go with
-- 0004, as they would under per-tenant views (a tenant's DELETE removes that tenant's data).
UPDATE `tenant_users` SET
  `user_name` = (SELECT `u`.`user_name` FROM `users` `u` WHERE `u`.`id` = `tenant_users`.`user_id`),
  `user_name_key` = (SELECT `u`.`user_name_key` FROM `users` `u` WHERE `u`.`id` = `tenant_users`.`user_id`),
  `profile` = (SELECT `u`.`profile` FROM `users` `u` WHERE `u`.`id` = `tenant_users`.`user_id`),
  `manager_id` = (SELECT `u`.`manager_id` FROM `users` `u` WHERE `u`.`id` = `tenant_users`.`user_id`);
--> statement-breakpoint
INSERT INTO `tenant_user_emails` (`tenant_id`, `user_id`, `position`, `value`, `value_key`, `type`, `display`, `is_primary`)
  SELECT `tu`.`tenant_id`, `e`.`user_id`, `e`.`position`, `e`.`value`, `e`.`value_key`, `e`.`type`, `e`.`display`, `e`.`is_primary`
  FROM `user_emails` `e` JOIN `tenant_users` `tu` ON `tu`.`user_id` = `e`.`user_id`;
