-- Custom SQL migration file, put your code below! ---- Memberships of users without access to the group's tenant (left by interleaved writers before
-- 0006 made them impossible) grant nothing and cannot be kept under the new foreign key.
DELETE FROM `group_members` WHERE NOT EXISTS (
  SELECT 1 FROM `tenant_users` `tu` WHERE `tu`.`tenant_id` = `group_members`.`tenant_id` AND `tu`.`user_id` = `group_members`.`user_id`
);
