#!lua
-- Adaptive backpressure: an upstream said "429, retry after N": no worker is
-- admitted through this limiter until then.
-- KEYS[1] limiter hash (or one key's instance of it); ARGV: pause ms, idle
-- ms (a keyed instance's expiry; 0 = never expires; at least the pause)
local now = sf_now()
local until_ms = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or 0)
if until_ms > cur then redis.call('HSET', KEYS[1], 'paused_until', until_ms) end
local idle = tonumber(ARGV[2] or 0)
if idle > 0 then redis.call('PEXPIRE', KEYS[1], math.max(idle, tonumber(ARGV[1]) + 1000)) end
return until_ms
