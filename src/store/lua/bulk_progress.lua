#!lua
-- Records one page of a bulk job by its holder: the counts it adds, where the
-- walk goes on (the cursor: a run id, exclusive), and a renewed lease; the
-- last page marks the job done, takes it off the active set and lets its hash
-- expire after keep_ms. Fenced: a caller that no longer holds the job (another
-- `serve` claimed it after its lease ended) changes nothing.
-- KEYS[1] the job hash, KEYS[2] the active jobs (ZSET)
-- ARGV: job id, owner, cursor, matched, succeeded, skipped (added), lease_ms,
--       done ('1' | '0'), keep_ms, error ('' or why the last page failed; the
--       counts are then 0 and the page is tried again)
-- Returns 'ok', 'stopped' (an operator stopped the job: bulk_stop.lua) or
-- 'lost' (another holder has it, or it is done).
local job, active = KEYS[1], KEYS[2]
local id, owner = ARGV[1], ARGV[2]
local status = redis.call('HGET', job, 'status')
if status == 'stopped' then return 'stopped' end
if redis.call('HGET', job, 'owner') ~= owner or status ~= 'running' then return 'lost' end
local now = sf_now()
redis.call('HINCRBY', job, 'matched', ARGV[4])
redis.call('HINCRBY', job, 'succeeded', ARGV[5])
redis.call('HINCRBY', job, 'skipped', ARGV[6])
redis.call('HSET', job, 'cursor', ARGV[3], 'updated_at', now)
if ARGV[10] ~= '' then
  redis.call('HSET', job, 'error', ARGV[10], 'error_at', now)
end
if ARGV[8] == '1' then
  redis.call('HSET', job, 'status', 'done', 'finished_at', now)
  redis.call('HDEL', job, 'lease_until')
  redis.call('ZREM', active, id)
  redis.call('PEXPIRE', job, ARGV[9])
else
  local lease_until = now + tonumber(ARGV[7])
  redis.call('HSET', job, 'lease_until', lease_until)
  redis.call('ZADD', active, lease_until, id)
end
return 'ok'
