#!lua flags=allow-oom
-- A partition's promoter duty, held by one worker at a time under a lease:
-- only the holder polls the partition's timers (due.lua, every ≤ 100 ms);
-- the others only ask here, about once per lease, whether it has ended. A
-- duty held twice (a holder paused past its lease) costs a poll, nothing
-- more: promotion is atomic and idempotent.
-- KEYS[1] the duty key (STRING: the holder's worker id, PX its lease)
-- ARGV[1] worker id; ARGV[2] lease ms, or 0 to give the duty up (only if
-- ARGV[1] holds it: a clean stop hands it on at once)
-- Returns {1, lease ms} when ARGV[1] holds the duty now (taken or renewed),
-- {0, ms left of the holder's lease} when another worker holds it, {0, 0}
-- once given up.
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {0, math.max(0, redis.call('PTTL', KEYS[1]))}
end
local lease = tonumber(ARGV[2])
if lease == 0 then
  if holder then redis.call('DEL', KEYS[1]) end
  return {0, 0}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', lease)
return {1, lease}
