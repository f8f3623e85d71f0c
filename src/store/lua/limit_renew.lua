#!lua flags=allow-oom
-- Extends the concurrency slots a worker holds (with its step leases).
-- KEYS[1] holders zset; ARGV: hold ms, then holder ids
local now = sf_now()
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i])
end
return n
