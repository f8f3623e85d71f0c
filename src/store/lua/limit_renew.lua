#!lua flags=allow-oom
-- Extends the concurrency slots a worker holds (with its step leases).
-- KEYS[1] holders zset, KEYS[2] its instance hash (a keyed one is kept
-- alive while held); ARGV: hold ms, idle ms (0 = never expires), then holder ids
local now = sf_now()
local hold, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = 0
for i = 3, #ARGV do
  n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + hold, ARGV[i])
end
if idle > 0 and redis.call('PEXPIRE', KEYS[1], math.max(idle, hold)) == 1 then
  redis.call('PEXPIRE', KEYS[2], math.max(idle, hold))
end
return n
