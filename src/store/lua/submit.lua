#!lua
-- Creates a run and the token of its first step: a stream entry, or, for a
-- run that starts later (a delay or run_at), a 'start' member of the timer
-- set (status 'scheduled', no entry in any queue until the promoter moves it).
-- KEYS[1] run hash, KEYS[2] first step's queue stream, KEYS[3] partition stats hash,
-- KEYS[4] the partition's timer set, then the run's indexes (store/run_index.h:
-- every run, its workflow, 'live', one per metadata pair), then the idempotency
-- key of this workflow (optional): "<run id>\t<fingerprint>"
-- ARGV: run_id, workflow, input (JSON), first step, queue, idempotency TTL ms,
--       max backlog of the queue (0 = unbounded), step names (JSON array, in order),
--       fingerprint of the request (what a repeat must match), metadata (JSON
--       object, '' = none), number of index keys, delay ms (0 = none), run_at
--       Unix ms (0 = none; at most one of the two is set), the furthest ahead a
--       run may start (ms), how far in the past a run_at may lie (ms)
-- Returns {1, run_id, run_at} when created (run_at 0: queued at once), {0,
-- existing_run_id} for a repeated idempotency key with the same fingerprint,
-- {2, existing_run_id} for one with a different fingerprint, or an error reply
-- "BACKLOG ..." when the queue is over its bound, "RUN_AT ..." for a run_at
-- too far in the past or the future (by Redis time).
local run, stream, stats, timers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local run_id, workflow, input, step, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local idem_ttl, max_backlog, steps, fingerprint = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9]
local metadata, n_index = ARGV[10], tonumber(ARGV[11])
local delay, run_at, max_ahead, past_grace = tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local idem = KEYS[5 + n_index]

if idem then
  local existing = redis.call('GET', idem)
  if existing then
    local tab = string.find(existing, '\t', 1, true)
    local first_run, first_fingerprint = existing, ''
    if tab then first_run, first_fingerprint = string.sub(existing, 1, tab - 1), string.sub(existing, tab + 1) end
    if first_fingerprint == fingerprint then return {0, first_run} end
    return {2, first_run}
  end
end
local now = sf_now()
local start = 0
if run_at > 0 then
  if run_at < now - past_grace then
    return redis.error_reply('RUN_AT run_at is ' .. (now - run_at) .. ' ms before the current Redis time')
  end
  if run_at > now + max_ahead then
    return redis.error_reply('RUN_AT run_at is more than ' .. math.floor(max_ahead / 86400000) ..
                             ' days after the current Redis time')
  end
  start = run_at
elseif delay > 0 then
  start = now + delay
end
local scheduled = start > now
if not scheduled and max_backlog > 0 and redis.call('XLEN', stream) >= max_backlog then
  return redis.error_reply('BACKLOG queue ' .. queue .. ' holds ' .. max_backlog ..
                           ' or more entries; try again later')
end
if redis.call('EXISTS', run) == 1 then
  return redis.error_reply('ERR run ' .. run_id .. ' already exists')
end
if scheduled then
  redis.call('ZADD', timers, start, sf_timer(run_id, step, 'start'))
  redis.call('HSET', run, 'workflow', workflow, 'status', 'scheduled', 'input', input,
             'created_at', now, 'updated_at', now, 'step', step, 'queue', queue, 'run_at', start,
             'entry', '', 'base', '0', 'steps', steps, 's.' .. step .. '.status', 'waiting')
else
  local id = redis.call('XADD', stream, '*', 'r', run_id, 's', step, 'a', '0')
  redis.call('HSET', run, 'workflow', workflow, 'status', 'queued', 'input', input,
             'created_at', now, 'updated_at', now, 'step', step, 'queue', queue,
             'entry', id, 'base', '0', 'steps', steps, 's.' .. step .. '.status', 'queued')
  if start > 0 then redis.call('HSET', run, 'run_at', start) end
end
if metadata ~= '' then redis.call('HSET', run, 'metadata', metadata) end
for i = 5, 4 + n_index do redis.call('ZADD', KEYS[i], 0, run_id) end
if idem then redis.call('SET', idem, run_id .. '\t' .. fingerprint, 'PX', idem_ttl) end
redis.call('HINCRBY', stats, 'submitted:' .. workflow, 1)
if scheduled then return {1, run_id, start} end
return {1, run_id, 0}
