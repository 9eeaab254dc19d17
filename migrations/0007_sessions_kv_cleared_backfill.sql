-- Sessions revoked before kv_cleared_at existed had their KV tokens deleted when they were revoked,
-- except those burnt by GET /auth?one_time_token=1 (their KV copy was left to expire): the sweeper
-- deletes those.
UPDATE `sessions` SET kv_cleared_at = revoked_at WHERE revoked_at IS NOT NULL AND sso_burnt_at IS NULL;
