-- Custom SQL migration file, put your code below! --
-- A tenant frozen in a shard (tenants.frozen = 1: a move copies it away, or into here) takes no
-- write but the mover's, whose batches hold a row of move_passes: whatever path a write comes
-- by (SCIM, admin API, console), it fails instead of landing where the copy no longer looks.
-- SCIM answers it with 503 and Retry-After (src/errors.ts).
CREATE TRIGGER `frozen_tenant_users_insert` BEFORE INSERT ON `tenant_users`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_users_update` BEFORE UPDATE ON `tenant_users`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_users_delete` BEFORE DELETE ON `tenant_users`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_user_emails_insert` BEFORE INSERT ON `tenant_user_emails`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_user_emails_update` BEFORE UPDATE ON `tenant_user_emails`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_user_emails_delete` BEFORE DELETE ON `tenant_user_emails`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_user_values_insert` BEFORE INSERT ON `tenant_user_values`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_user_values_update` BEFORE UPDATE ON `tenant_user_values`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_tenant_user_values_delete` BEFORE DELETE ON `tenant_user_values`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_scim_schemas_insert` BEFORE INSERT ON `scim_schemas`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_scim_schemas_update` BEFORE UPDATE ON `scim_schemas`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_scim_schemas_delete` BEFORE DELETE ON `scim_schemas`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_groups_insert` BEFORE INSERT ON `groups`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_groups_update` BEFORE UPDATE ON `groups`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_groups_delete` BEFORE DELETE ON `groups`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_group_members_insert` BEFORE INSERT ON `group_members`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_group_members_update` BEFORE UPDATE ON `group_members`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_group_members_delete` BEFORE DELETE ON `group_members`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_roles_insert` BEFORE INSERT ON `roles`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_roles_update` BEFORE UPDATE ON `roles`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_roles_delete` BEFORE DELETE ON `roles`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_bindings_insert` BEFORE INSERT ON `bindings`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_bindings_update` BEFORE UPDATE ON `bindings`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_bindings_delete` BEFORE DELETE ON `bindings`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_service_accounts_insert` BEFORE INSERT ON `service_accounts`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_service_accounts_update` BEFORE UPDATE ON `service_accounts`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_service_accounts_delete` BEFORE DELETE ON `service_accounts`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_api_tokens_insert` BEFORE INSERT ON `api_tokens`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_api_tokens_update` BEFORE UPDATE ON `api_tokens`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_api_tokens_delete` BEFORE DELETE ON `api_tokens`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_integrations_insert` BEFORE INSERT ON `integrations`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_integrations_update` BEFORE UPDATE ON `integrations`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_integrations_delete` BEFORE DELETE ON `integrations`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_audit_events_insert` BEFORE INSERT ON `audit_events`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = NEW.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_audit_events_update` BEFORE UPDATE ON `audit_events`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_audit_events_delete` BEFORE DELETE ON `audit_events`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = OLD.`tenant_id`) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_role_permissions_insert` BEFORE INSERT ON `role_permissions`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = (SELECT `tenant_id` FROM `roles` WHERE `id` = NEW.`role_id`)) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_role_permissions_update` BEFORE UPDATE ON `role_permissions`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = (SELECT `tenant_id` FROM `roles` WHERE `id` = OLD.`role_id`)) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
--> statement-breakpoint
CREATE TRIGGER `frozen_role_permissions_delete` BEFORE DELETE ON `role_permissions`
WHEN (SELECT `frozen` FROM `tenants` WHERE `id` = (SELECT `tenant_id` FROM `roles` WHERE `id` = OLD.`role_id`)) = 1
  AND NOT EXISTS (SELECT 1 FROM `move_passes`)
BEGIN SELECT RAISE(ABORT, 'scim-edge: tenant moving'); END;
