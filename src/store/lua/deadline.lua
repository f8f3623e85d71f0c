#!lua
-- Run deadlines: a due 'deadline' member of the deadline set (written by
-- sf_create_run; older versions kept it in the timer set, and it is looked
-- for in both) fails its
-- run into the dead-letter queue with "deadline exceeded" if the run has not
-- ended, whatever it is doing: its token goes (a retry, start, sleep or
-- signal timer, a signal wait's name,
-- or its stream entry, acknowledged and deleted even while a worker runs the
-- step: that worker's renewal then answers lost, it stops the step, and its
-- outcome is refused). An ended run's member is just removed.
-- KEYS[1] timer set, KEYS[2] dead-letter stream, KEYS[3] partition stats,
-- KEYS[4] status index 'live', KEYS[5] status index 'failed', KEYS[6]
-- deadline set; then per member: run hash, the run's queue stream (as the
-- caller read it)
-- ARGV: group; then per member 3 values: member, run id, queue name read
-- Returns the number of runs failed.
local timers, dlq, stats, live, failed, group = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1]
local deadlines = KEYS[6]
local now = sf_now()
local n = 0
for i = 1, (#ARGV - 1) / 3 do
  local member, run_id, queue = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local run, stream = KEYS[5 + 2 * i], KEYS[6 + 2 * i]
  local score = redis.call('ZSCORE', deadlines, member) or redis.call('ZSCORE', timers, member)
  local f = redis.call('HMGET', run, 'status', 'queue', 'step', 'entry')
  if not score or tonumber(score) > now then
    -- gone meanwhile, or not due
  elseif not f[1] or sf_terminal[f[1]] then
    redis.call('ZREM', deadlines, member)
    redis.call('ZREM', timers, member)
  elseif f[2] ~= queue then
    -- the run moved to another queue since the caller read it: the next pass reads it again
  elseif sf_is_graph(run) then
    -- A graph run (lib.lua's "Graph runs"): every node's token goes, held or
    -- not; the run fails at the first node that held one.
    redis.call('ZREM', deadlines, member)
    redis.call('ZREM', timers, member)
    local _, first = sf_graph_drop_tokens(run, run_id, sf_graph_of(run), stream, group, timers, true)
    local step = first or f[3]
    local err = 'deadline exceeded: the run had not ended by its deadline'
    local attempts = redis.call('HGET', run, 's.' .. step .. '.attempts') or '0'
    redis.call('HSET', run, 'step', step)
    sf_fail_run(run, run_id, step, attempts, err, now, dlq, stats, live, failed, timers)
    n = n + 1
  else
    local step, entry = f[3], f[4] or ''
    redis.call('ZREM', deadlines, member)
    redis.call('ZREM', timers, member, sf_timer(run_id, step, 'retry'), sf_timer(run_id, step, 'start'),
               sf_timer(run_id, step, 'sleep'), sf_timer(run_id, step, 'signal'),
               sf_timer(run_id, step, 'limiter'))
    -- The entry goes whether or not a worker holds it (every transition to an
    -- ended status removes the run's token in the same script: complete.lua
    -- relies on it): a worker running the step finds its token gone at its
    -- next renewal (lost), stops it, and writes nothing.
    if entry ~= '' then sf_drop_entry(stream, group, entry) end
    local err = 'deadline exceeded: the run had not ended by its deadline'
    local attempts = redis.call('HGET', run, 's.' .. step .. '.attempts') or '0'
    sf_fail_run(run, run_id, step, attempts, err, now, dlq, stats, live, failed, timers)
    n = n + 1
  end
end
return n
