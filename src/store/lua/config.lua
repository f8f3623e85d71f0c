#!lua
-- Creates the deployment's config hash once (the first writer's partition
-- count wins) and returns it; an existing one is returned unchanged, except
-- that an older schema_version is raised to this version's (the caller has
-- checked it may upgrade: see store/config.cpp).
-- KEYS[1] config hash
-- ARGV: partitions, layout, schema_version
-- Returns {created (0/1), flat hash as stored}.
local key = KEYS[1]
local created = 0
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'partitions', ARGV[1], 'layout', ARGV[2], 'schema_version', ARGV[3],
             'created_at', sf_now())
  created = 1
elseif tonumber(redis.call('HGET', key, 'schema_version') or '0') < tonumber(ARGV[3]) then
  redis.call('HSET', key, 'schema_version', ARGV[3])
end
return {created, redis.call('HGETALL', key)}
