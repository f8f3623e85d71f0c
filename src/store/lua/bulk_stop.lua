#!lua flags=allow-oom
-- Stops a bulk job that is not done (an operator's "stop"): it leaves the
-- active set, so no one claims it again, and its holder's next page is refused
-- (bulk_progress.lua fences on status 'running'), so the walk stops after the
-- page in progress. What was done stays done. The hash expires after keep_ms.
-- KEYS[1] the job hash, KEYS[2] the active jobs (ZSET)
-- ARGV: job id, who, keep_ms
-- Returns 'stopped', 'done' (it had ended: nothing changed) or 'missing'.
local job, active = KEYS[1], KEYS[2]
local id = ARGV[1]
local status = redis.call('HGET', job, 'status')
if not status then return 'missing' end
if status == 'done' or status == 'stopped' then return 'done' end
local now = sf_now()
redis.call('HSET', job, 'status', 'stopped', 'stopped_by', ARGV[2], 'finished_at', now, 'updated_at', now)
redis.call('HDEL', job, 'lease_until')
redis.call('ZREM', active, id)
redis.call('PEXPIRE', job, ARGV[3])
return 'stopped'
