#!lua
-- Creates a run and the token of its first step.
-- KEYS[1] run hash, KEYS[2] first step's queue stream, KEYS[3] partition stats hash,
-- KEYS[4] idempotency key (optional)
-- ARGV: run_id, workflow, input (JSON), first step, queue, idempotency TTL ms,
--       max backlog of the queue (0 = unbounded), step names (JSON array, in order)
-- Returns {1, run_id} when created, {0, existing_run_id} for a repeated idempotency key,
-- or an error reply "BACKLOG ..." when the queue is over its bound.
local run, stream, stats, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local run_id, workflow, input, step, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local idem_ttl, max_backlog, steps = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]

if idem then
  local existing = redis.call('GET', idem)
  if existing then return {0, existing} end
end
if max_backlog > 0 and redis.call('XLEN', stream) >= max_backlog then
  return redis.error_reply('BACKLOG queue ' .. queue .. ' holds ' .. max_backlog ..
                           ' or more entries; try again later')
end
if redis.call('EXISTS', run) == 1 then
  return redis.error_reply('ERR run ' .. run_id .. ' already exists')
end
local now = sf_now()
local id = redis.call('XADD', stream, '*', 'r', run_id, 's', step, 'a', '0')
redis.call('HSET', run, 'workflow', workflow, 'status', 'queued', 'input', input,
           'created_at', now, 'updated_at', now, 'step', step, 'queue', queue,
           'entry', id, 'base', '0', 'steps', steps, 's.' .. step .. '.status', 'queued')
if idem then redis.call('SET', idem, run_id, 'PX', idem_ttl) end
redis.call('HINCRBY', stats, 'submitted:' .. workflow, 1)
return {1, run_id}
