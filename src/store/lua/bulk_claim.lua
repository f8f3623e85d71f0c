#!lua
-- Takes an active bulk job whose lease has ended (or that no one held, or
-- that `owner` holds already) for `owner` until now + lease_ms. The holder fences every step of its work with
-- bulk_progress.lua, so a holder that was paused past its lease and then
-- resumes stops at its next page.
-- KEYS[1] the job hash, KEYS[2] the active jobs (ZSET: id -> lease end, Redis ms)
-- ARGV: job id, owner, lease_ms
-- Returns {'claimed', <the job's fields, as HGETALL>}, {'held'} (someone's
-- lease runs) or {'none'} (done, or no such job).
local job, active = KEYS[1], KEYS[2]
local id, owner, lease_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local score = redis.call('ZSCORE', active, id)
if not score then return {'none'} end
local now = sf_now()
if tonumber(score) > now and redis.call('HGET', job, 'owner') ~= owner then return {'held'} end
local status = redis.call('HGET', job, 'status')
if not status or status == 'done' or status == 'stopped' then  -- gone, or ended: not active
  redis.call('ZREM', active, id)
  return {'none'}
end
local lease_until = now + lease_ms
redis.call('ZADD', active, lease_until, id)
redis.call('HSET', job, 'owner', owner, 'lease_until', lease_until, 'status', 'running', 'updated_at', now)
redis.call('HINCRBY', job, 'claims', 1)
return {'claimed', redis.call('HGETALL', job)}
