#!lua
-- Makes a bulk job (POST /v1/runs:bulk, `dlq replay --all`): queued, with
-- nothing counted, in the list of jobs and among the active ones (score 0:
-- any `serve` may claim it at once). Jobs listed longer than keep_ms are
-- dropped from the list (their hashes expire by themselves once done).
-- KEYS[1] the job hash, KEYS[2] the jobs list (ZSET), KEYS[3] the active jobs (ZSET)
-- ARGV: job id, action, filter (JSON), who, keep_ms
-- Returns the job's creation time (Redis ms), or an error if the id is taken.
local job, jobs, active = KEYS[1], KEYS[2], KEYS[3]
local id, keep_ms = ARGV[1], tonumber(ARGV[5])
if redis.call('EXISTS', job) == 1 then return redis.error_reply('ERR bulk job ' .. id .. ' exists') end
local now = sf_now()
redis.call('HSET', job, 'action', ARGV[2], 'filter', ARGV[3], 'who', ARGV[4], 'status', 'queued',
           'created_at', now, 'updated_at', now, 'matched', 0, 'succeeded', 0, 'skipped', 0, 'claims', 0)
redis.call('ZADD', jobs, now, id)
redis.call('ZREMRANGEBYSCORE', jobs, '-inf', '(' .. (now - keep_ms))
redis.call('ZADD', active, 0, id)
return now
