#!lua flags=allow-oom
-- After an attempt: frees its concurrency slot and reconciles the token bucket
-- with the tokens the step reported using (adjust = estimated - actual: a
-- negative value puts the bucket in debt, so later admissions wait for it).
-- The usage comes from a step's output, which a run's input may shape: the
-- debt stops at one bucket (-capacity), so one attempt delays the others by at
-- most two buckets' refill time, never minutes.
-- KEYS[1] limiter (instance) hash, KEYS[2] holders zset, KEYS[3] the
--       limiter's overrides hash (a key's runtime override changes its bucket)
-- ARGV: holder id, tokens per minute, token capacity, adjust, idle ms (a
--       keyed instance's expiry after its last use; 0 = never expires), the
--       key's value ('' = unkeyed)
local lim, holders = KEYS[1], KEYS[2]
local holder, adjust = ARGV[1], tonumber(ARGV[4])
local b = {rpm = 0, burst = 1, tpm = tonumber(ARGV[2]), capacity = tonumber(ARGV[3]), conc = 0}
sf_limit_override(KEYS[3], ARGV[6], b)
local tpm, capacity = b.tpm, b.capacity
local idle = tonumber(ARGV[5] or 0)
redis.call('ZREM', holders, holder)
if tpm > 0 and adjust ~= 0 then
  local now = sf_now()
  local h = redis.call('HMGET', lim, 'tokens', 'tokens_at')
  local tokens = tonumber(h[1] or capacity)
  local at = tonumber(h[2] or now)
  tokens = math.min(capacity, tokens + (now - at) * tpm / 60000)
  tokens = math.max(-capacity, math.min(capacity, tokens + adjust))
  redis.call('HSET', lim, 'tokens', string.format('%.3f', tokens), 'tokens_at', now)
  if idle > 0 then redis.call('PEXPIRE', lim, idle) end
end
return 1
