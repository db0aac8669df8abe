-- Custom SQL migration file, put your code below! --
-- Tenant sizes (issue 20: every request priced in rows before it runs). Triggers keep
-- tenant_sizes exact whatever writes a row: the writer's batches, the admin API, cascades.
-- Inserts upsert the tenant's row; deletes only update it, so a tenant being deleted (its
-- tenant_sizes row cascading away first) is never re-created. A view's units: 1 + KiB of profile;
-- max_view_units is a high-water mark (it never falls); elements counts JSON array elements.
INSERT INTO `tenant_sizes` (`tenant_id`) SELECT `id` FROM `tenants`;
--> statement-breakpoint
UPDATE `tenant_sizes` SET
  `views` = (SELECT count(*) FROM `tenant_users` `v` WHERE `v`.`tenant_id` = `tenant_sizes`.`tenant_id`),
  `view_units` = (SELECT coalesce(sum(1 + length(`v`.`profile`) / 1024), 0) FROM `tenant_users` `v` WHERE `v`.`tenant_id` = `tenant_sizes`.`tenant_id`),
  `max_view_units` = (SELECT coalesce(max(1 + length(`v`.`profile`) / 1024), 1) FROM `tenant_users` `v` WHERE `v`.`tenant_id` = `tenant_sizes`.`tenant_id`),
  `elements` = (SELECT count(*) FROM `tenant_users` `v`, json_tree(`v`.`profile`) `j` WHERE `v`.`tenant_id` = `tenant_sizes`.`tenant_id` AND typeof(`j`.`key`) = 'integer'),
  `emails` = (SELECT count(*) FROM `tenant_user_emails` `e` WHERE `e`.`tenant_id` = `tenant_sizes`.`tenant_id`),
  `groups` = (SELECT count(*) FROM `groups` `g` WHERE `g`.`tenant_id` = `tenant_sizes`.`tenant_id`),
  `memberships` = (SELECT count(*) FROM `group_members` `m` WHERE `m`.`tenant_id` = `tenant_sizes`.`tenant_id`),
  `unique_values` = (SELECT count(*) FROM `tenant_user_values` `x` WHERE `x`.`tenant_id` = `tenant_sizes`.`tenant_id`);
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_on_tenant` AFTER INSERT ON `tenants` BEGIN
  INSERT INTO `tenant_sizes` (`tenant_id`) VALUES (new.`id`) ON CONFLICT (`tenant_id`) DO NOTHING;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_view_added` AFTER INSERT ON `tenant_users` BEGIN
  INSERT INTO `tenant_sizes` (`tenant_id`, `views`, `view_units`, `max_view_units`, `elements`)
    VALUES (new.`tenant_id`, 1, 1 + length(new.`profile`) / 1024, 1 + length(new.`profile`) / 1024,
      (SELECT count(*) FROM json_tree(new.`profile`) WHERE typeof(`key`) = 'integer'))
    ON CONFLICT (`tenant_id`) DO UPDATE SET `views` = `views` + 1, `view_units` = `view_units` + excluded.`view_units`,
      `max_view_units` = max(`max_view_units`, excluded.`max_view_units`), `elements` = `elements` + excluded.`elements`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_view_changed` AFTER UPDATE OF `profile` ON `tenant_users` BEGIN
  UPDATE `tenant_sizes` SET `view_units` = `view_units` - length(old.`profile`) / 1024 + length(new.`profile`) / 1024,
      `max_view_units` = max(`max_view_units`, 1 + length(new.`profile`) / 1024),
      `elements` = `elements` - (SELECT count(*) FROM json_tree(old.`profile`) WHERE typeof(`key`) = 'integer')
        + (SELECT count(*) FROM json_tree(new.`profile`) WHERE typeof(`key`) = 'integer')
    WHERE `tenant_id` = new.`tenant_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_view_removed` AFTER DELETE ON `tenant_users` BEGIN
  UPDATE `tenant_sizes` SET `views` = `views` - 1, `view_units` = `view_units` - 1 - length(old.`profile`) / 1024,
      `elements` = `elements` - (SELECT count(*) FROM json_tree(old.`profile`) WHERE typeof(`key`) = 'integer')
    WHERE `tenant_id` = old.`tenant_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_email_added` AFTER INSERT ON `tenant_user_emails` BEGIN
  INSERT INTO `tenant_sizes` (`tenant_id`, `emails`) VALUES (new.`tenant_id`, 1)
    ON CONFLICT (`tenant_id`) DO UPDATE SET `emails` = `emails` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_email_removed` AFTER DELETE ON `tenant_user_emails` BEGIN
  UPDATE `tenant_sizes` SET `emails` = `emails` - 1 WHERE `tenant_id` = old.`tenant_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_group_added` AFTER INSERT ON `groups` BEGIN
  INSERT INTO `tenant_sizes` (`tenant_id`, `groups`) VALUES (new.`tenant_id`, 1)
    ON CONFLICT (`tenant_id`) DO UPDATE SET `groups` = `groups` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_group_removed` AFTER DELETE ON `groups` BEGIN
  UPDATE `tenant_sizes` SET `groups` = `groups` - 1 WHERE `tenant_id` = old.`tenant_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_membership_added` AFTER INSERT ON `group_members` BEGIN
  INSERT INTO `tenant_sizes` (`tenant_id`, `memberships`) VALUES (new.`tenant_id`, 1)
    ON CONFLICT (`tenant_id`) DO UPDATE SET `memberships` = `memberships` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_membership_removed` AFTER DELETE ON `group_members` BEGIN
  UPDATE `tenant_sizes` SET `memberships` = `memberships` - 1 WHERE `tenant_id` = old.`tenant_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_value_added` AFTER INSERT ON `tenant_user_values` BEGIN
  INSERT INTO `tenant_sizes` (`tenant_id`, `unique_values`) VALUES (new.`tenant_id`, 1)
    ON CONFLICT (`tenant_id`) DO UPDATE SET `unique_values` = `unique_values` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `tenant_sizes_value_removed` AFTER DELETE ON `tenant_user_values` BEGIN
  UPDATE `tenant_sizes` SET `unique_values` = `unique_values` - 1 WHERE `tenant_id` = old.`tenant_id`;
END;
