#!lua flags=allow-oom
-- Cancels a run on a user's request. A run whose token waits (an undelivered
-- stream entry, a retry timer, a scheduled run's start timer, a durable
-- wait's sleep or signal timer, a limiter-parked step's timer, or a signal wait without timeout) is cancelled
-- at once and its token removed;
-- a run whose step is running gets a cancel flag that its worker sees on its
-- next lease renewal, and the worker finishes it as cancelled.
-- KEYS[1] run hash, KEYS[2] the run's current queue stream, KEYS[3] timer set,
-- KEYS[4] schema 1's delayed set, KEYS[5] status index 'live', KEYS[6] status
-- index 'cancelled', KEYS[7] retention set
-- ARGV: run id, group, queue name the caller read, retention ms
-- Returns 'cancelled', 'cancelling', 'terminal:<status>', 'missing' or 'moved'
-- (the run changed queue meanwhile: read it again and retry).
local run, stream, timers, legacy, live, cancelled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local retention_set = KEYS[7]
local run_id, group, queue, retention = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('EXISTS', run) == 0 then return 'missing' end
local status = redis.call('HGET', run, 'status')
if sf_terminal[status] then return 'terminal:' .. status end
if redis.call('HGET', run, 'queue') ~= queue then return 'moved' end
local now = sf_now()
local step = redis.call('HGET', run, 'step')
local function finish()
  redis.call('HSET', run, 'status', 'cancelled', 'entry', '', 'cancel', '1', 'updated_at', now,
             's.' .. step .. '.status', 'cancelled')
  sf_reindex(live, cancelled, run_id)
  sf_retain(run, retention_set, run_id, now, retention)
  sf_notify_parent(run, timers, now)
  return 'cancelled'
end
local g = sf_graph_of(run)
if g then
  -- A graph run (lib.lua's "Graph runs"): every token no worker holds goes;
  -- nodes a worker runs see the flag and end as cancelled (drop.lua), or
  -- finish, and the last one's complete.lua ends the run.
  local held = sf_graph_drop_tokens(run, run_id, g, stream, group, timers, false)
  if held == 0 then
    redis.call('HSET', run, 'status', 'cancelled', 'cancel', '1', 'live', 0, 'updated_at', now)
    sf_reindex(live, cancelled, run_id)
    sf_retain(run, retention_set, run_id, now, retention)
    sf_notify_parent(run, timers, now)
    return 'cancelled'
  end
  redis.call('HSET', run, 'cancel', '1', 'live', held, 'updated_at', now)
  return 'cancelling'
end
if redis.call('ZREM', timers, sf_timer(run_id, step, 'retry'), sf_timer(run_id, step, 'start'),
              sf_timer(run_id, step, 'sleep'), sf_timer(run_id, step, 'signal'),
              sf_timer(run_id, step, 'limiter')) +
   redis.call('ZREM', legacy, run_id) > 0 then
  return finish()
end
local entry = redis.call('HGET', run, 'entry')
-- no entry and no timer: a signal wait without timeout, parked on its name alone
if status == 'waiting' and (not entry or entry == '') then return finish() end
-- a backlog token (lib.lua's "Ordered queues"): left in place, its claim drops it
if sf_is_ticket(entry) then return finish() end
if entry and entry ~= '' then
  local p = redis.call('XPENDING', stream, group, entry, entry, 1)
  if p[1] == nil then
    redis.call('XDEL', stream, entry)
    return finish()
  end
end
redis.call('HSET', run, 'cancel', '1', 'updated_at', now)
return 'cancelling'
