#!lua flags=allow-oom
-- Pauses or resumes a cron schedule (kept in Redis: survives every restart).
-- A paused schedule fires no tick; resuming moves its `last` to now, so the
-- ticks that passed while it was paused are not caught up.
-- KEYS[1] the schedule's state hash
-- ARGV[1] 'pause' or 'resume', ARGV[2] the schedule's name
-- Returns 1 when the state changed, 0 when it already was so.
local state, action, name = KEYS[1], ARGV[1], ARGV[2]
local paused = redis.call('HGET', state, 'paused') == '1'
if action == 'pause' then
  if paused then return 0 end
  redis.call('HSET', state, 'name', name, 'paused', '1', 'paused_at', sf_now())
  return 1
end
if not paused then return 0 end
redis.call('HSET', state, 'paused', '0', 'last', sf_now())
redis.call('HDEL', state, 'paused_at')
return 1
