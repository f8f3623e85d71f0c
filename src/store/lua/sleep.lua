#!lua
-- Parks durable waits (the `wait` kind) of one stream: each step becomes
-- 'waiting', its entry is acknowledged and deleted, and the claim is refunded
-- (attempts as given: the count before it) — the wait holds no worker and no
-- entry. Fenced like every transition.
-- A timed wait: its due time is kept (s.<step>.wake_at, so that the next
-- claim completes it) and a 'sleep' member goes in the timer set; promote.lua
-- queues the step again when due.
-- A signal wait: the name is recorded (s.<step>.signal) and, with a timeout,
-- its due time as s.<step>.wake_at with a 'signal' member in the timer set.
-- A signal of that name already kept in the run (sig.<name>, signal.lua)
-- queues the step again at once instead — registering the wait and taking a
-- kept signal are this one script, so no signal is missed.
-- A run cancelled while the step was claimed (its `cancel` flag) parks
-- nothing: it ends as cancelled, as drop.lua ends it — else a signal wait
-- would hold the run `cancelling` until a signal came, maybe never.
-- KEYS[1] stream, KEYS[2] timer set, KEYS[3] status index 'live', KEYS[4]
-- status index 'cancelled', KEYS[5] retention set; then per item: run hash
-- ARGV: group, consumer, retention ms; then per item 7 values: entry id,
--       deliveries, run id, step, attempts to record, due time (Redis Unix
--       ms; 0 = none: a signal wait without timeout), signal name ('' = a
--       timed wait)
-- A graph run's node keeps its token at node level (lib.lua's "Graph runs").
-- Returns per item 'ok', 'signalled' (queued again for a kept signal),
-- 'cancelled', 'stale' or 'discarded'.
local stream, timers, group, consumer = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local live, cancelled, retention_set, retention = KEYS[3], KEYS[4], KEYS[5], tonumber(ARGV[3])
local now = sf_now()
local out = {}
local per = 7

-- The wait's token outside the stream: a 'sleep' timer, or the signal's
-- name (and, with a timeout, a 'signal' timer).
local function park(run, run_id, step, due, signal)
  if signal == '' then
    redis.call('ZADD', timers, due, sf_timer(run_id, step, 'sleep'))
  else
    redis.call('HSET', run, 's.' .. step .. '.signal', signal)
    if due > 0 then redis.call('ZADD', timers, due, sf_timer(run_id, step, 'signal')) end
  end
end

for i = 1, (#ARGV - 3) / per do
  local run = KEYS[5 + i]
  local a = 3 + (i - 1) * per
  local id, deliveries, run_id, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local attempts, due, signal = ARGV[a + 5], tonumber(ARGV[a + 6]), ARGV[a + 7]
  if not sf_owns(stream, group, id, consumer, deliveries) then
    out[i] = 'stale'
  elseif sf_gone_or_terminal(run) then
    sf_drop_entry(stream, group, id)
    out[i] = 'discarded'
  elseif redis.call('HGET', run, 'cancel') == '1' then
    sf_end_cancelled(run, run_id, step, now, live, cancelled, retention_set, retention, timers)
    sf_drop_entry(stream, group, id)
    out[i] = 'cancelled'
  else
    local p = 's.' .. step .. '.'
    if sf_is_graph(run) then
      -- A graph run's node (lib.lua's "Graph runs"): the same, at node level;
      -- the run's status stays (other nodes run on).
      if signal ~= '' and redis.call('HGET', run, 'sig.' .. signal) then
        sf_node_enqueue(run, run_id, stream, step, attempts, now)
        redis.call('HSET', run, p .. 'attempts', attempts, p .. 'signal', signal)
        out[i] = 'signalled'
      else
        park(run, run_id, step, due, signal)
        redis.call('HSET', run, 'updated_at', now, p .. 'status', 'waiting', p .. 'attempts', attempts,
                   p .. 'entry', '', p .. 'base', attempts)
        out[i] = 'ok'
      end
      if due > 0 then redis.call('HSET', run, p .. 'wake_at', due) end
    elseif signal ~= '' and redis.call('HGET', run, 'sig.' .. signal) then
      -- the signal came while the step was claimed: its next claim takes it
      local nid = sf_enqueue(run, run_id, stream, step, attempts, now)
      redis.call('HSET', run, 'status', 'queued', 'entry', nid, 'updated_at', now, 'base', attempts,
                 p .. 'status', 'queued', p .. 'attempts', attempts, p .. 'signal', signal)
      if due > 0 then redis.call('HSET', run, p .. 'wake_at', due) end
      out[i] = 'signalled'
    else
      park(run, run_id, step, due, signal)
      redis.call('HSET', run, 'status', 'waiting', 'entry', '', 'updated_at', now, 'base', attempts,
                 p .. 'status', 'waiting', p .. 'attempts', attempts)
      if due > 0 then redis.call('HSET', run, p .. 'wake_at', due) end
      out[i] = 'ok'
    end
    sf_drop_entry(stream, group, id)
  end
end
return out
