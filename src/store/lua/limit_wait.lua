#!lua
-- Says in the run why a claimed step has not started: it waits for a
-- limiter's admission (the status JSON's waiting_for of kind `limiter`). A
-- hint for people, written by the worker at the attempt's first refusal and
-- cleared when it is admitted; fenced like any write (only the worker that
-- holds the step now writes), and marked with the attempt and worker, so one
-- left behind by a crashed worker or an earlier attempt is never shown.
-- KEYS[1] run hash
-- ARGV: step, consumer, attempt, limiter ('' = clear), the key's value ('' = unkeyed)
-- Returns 1 when written or cleared, 0 when the step is not this worker's now.
local run, step, consumer = KEYS[1], ARGV[1], ARGV[2]
local s = 's.' .. step .. '.'
local h = redis.call('HMGET', run, s .. 'status', s .. 'worker')
if h[1] ~= 'running' or h[2] ~= consumer then return 0 end
if ARGV[4] == '' then
  redis.call('HDEL', run, s .. 'limiter_wait')
else
  redis.call('HSET', run, s .. 'limiter_wait', consumer .. '\t' .. ARGV[3] .. '\t' .. ARGV[4] .. '\t' .. ARGV[5])
end
return 1
