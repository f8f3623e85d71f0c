#!lua
-- Adaptive backpressure: an upstream said "429, retry after N": no worker is
-- admitted through this limiter until then.
-- KEYS[1] limiter hash; ARGV: pause ms
local now = sf_now()
local until_ms = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or 0)
if until_ms > cur then redis.call('HSET', KEYS[1], 'paused_until', until_ms) end
return until_ms
