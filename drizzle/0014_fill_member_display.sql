-- Custom SQL migration file, put your code below! --
-- The display name of every view, from its profile (issue 20: a member's display is read from
-- tenant_users_display_idx, never by parsing the member's profile). Only display_name is set:
-- the tenant_sizes triggers watch profile, which does not change.
UPDATE `tenant_users` SET `display_name` = CASE WHEN json_type(`profile`, '$.displayName') = 'text' THEN json_extract(`profile`, '$.displayName') END;
