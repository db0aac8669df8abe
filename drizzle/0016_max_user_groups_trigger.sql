-- Custom SQL migration file, put your code below! --
-- The most groups one user of the tenant has been in (a high-water mark, as max_view_units):
-- a user's `groups` is priced by it (src/scim/cost.ts). Counted through the (tenant, user) index.
UPDATE `tenant_sizes` SET `max_user_groups` = coalesce((
  SELECT max(`n`) FROM (SELECT count(*) AS `n` FROM `group_members` `m` WHERE `m`.`tenant_id` = `tenant_sizes`.`tenant_id` GROUP BY `m`.`user_id`)
), 0);
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_user_groups` AFTER INSERT ON `group_members` BEGIN
  UPDATE `tenant_sizes` SET `max_user_groups` = max(`max_user_groups`,
    (SELECT count(*) FROM `group_members` `m` WHERE `m`.`tenant_id` = new.`tenant_id` AND `m`.`user_id` = new.`user_id`))
    WHERE `tenant_id` = new.`tenant_id`;
END;
