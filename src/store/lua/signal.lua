#!lua
-- A signal sent to a run (POST /v1/runs/{id}/signals/{name}): its body is
-- kept in the run (sig.<name>, replacing a kept signal of the same name) and,
-- when the run's step is parked on that name (sleep.lua), that step is queued
-- again (its timeout timer removed): its claim completes it with the body and
-- deletes it (complete.lua). A signal nobody waits for yet stays kept until a
-- wait on its name takes it. An Idempotency-Key is recorded in the run
-- (sigkey.<key>): a repeat changes nothing, even once the run ended.
-- KEYS[1] run hash, KEYS[2] the run's queue stream (as the caller read it),
-- KEYS[3] timer set
-- ARGV: run id, signal name, body JSON, idempotency key ('' = none), queue
--       name the caller read, most kept signals, most idempotency keys
-- Returns 'delivered' (a waiting step was queued), 'kept', 'repeat',
-- 'missing', 'ended:<status>', 'full:kept' or 'full:keys' (a bound is
-- reached; nothing written), or 'moved' (the run changed queue since the
-- caller read it: read it again and retry).
local run, stream, timers = KEYS[1], KEYS[2], KEYS[3]
local run_id, name, body, key, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_kept, max_keys = tonumber(ARGV[6]), tonumber(ARGV[7])
local f = redis.call('HMGET', run, 'status', 'step', 'queue', 'base')
local status, step = f[1], f[2]
if not status then return 'missing' end
-- a repeat first: a client retrying a signal that was taken hears so even if
-- the run ended since
if key ~= '' and redis.call('HGET', run, 'sigkey.' .. key) then return 'repeat' end
if sf_terminal[status] then return 'ended:' .. status end
if f[3] ~= queue then return 'moved' end
local field = 'sig.' .. name
local is_new = not redis.call('HGET', run, field)
if is_new and tonumber(redis.call('HGET', run, 'sigs_kept') or '0') >= max_kept then return 'full:kept' end
if key ~= '' then
  if tonumber(redis.call('HGET', run, 'sigkeys') or '0') >= max_keys then return 'full:keys' end
  redis.call('HSET', run, 'sigkey.' .. key, name)
  redis.call('HINCRBY', run, 'sigkeys', 1)
end
redis.call('HSET', run, field, body)
if is_new then redis.call('HINCRBY', run, 'sigs_kept', 1) end
local now = sf_now()
local g = sf_graph_of(run)
if g then
  -- A graph run (lib.lua's "Graph runs"): the first node, in list order,
  -- parked on that name is queued; a kept signal is taken once, so any other
  -- waits on it stay parked.
  for _, n in ipairs(g.order) do
    local p = 's.' .. n .. '.'
    local w = redis.call('HMGET', run, p .. 'status', p .. 'signal', p .. 'base')
    if w[1] == 'waiting' and w[2] == name then
      redis.call('ZREM', timers, sf_timer(run_id, n, 'signal'))
      sf_node_enqueue(run, run_id, stream, n, w[3] or '0', now)
      return 'delivered'
    end
  end
  redis.call('HSET', run, 'updated_at', now)
  return 'kept'
end
local p = 's.' .. (step or '') .. '.'
if status == 'waiting' and step and redis.call('HGET', run, p .. 'status') == 'waiting' and
   redis.call('HGET', run, p .. 'signal') == name then
  redis.call('ZREM', timers, sf_timer(run_id, step, 'signal'))
  local nid = sf_enqueue(run, run_id, stream, step, f[4] or '0', now)
  redis.call('HSET', run, 'status', 'queued', 'entry', nid, 'updated_at', now, p .. 'status', 'queued')
  return 'delivered'
end
redis.call('HSET', run, 'updated_at', now)
return 'kept'
