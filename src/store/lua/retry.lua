#!lua
-- Retry-later (and release) for a batch of failed or handed-back steps of one
-- stream: records the error, then either parks the run in the timer set until
-- its due time or, with delay 0, enqueues the same step again at once; then
-- acknowledges and deletes the entry, atomically.
-- KEYS[1] stream, KEYS[2] timer set, KEYS[3] partition stats hash; then per item: run hash
-- ARGV: group, consumer; then per item 12 values: entry id, deliveries, run id,
--       step, attempts so far, delay ms, error ('' = a hand-off, not a failure),
--       the attempt's rate-limited answers and ms waited for admission (kept
--       in the run as s.<step>.rate_limited / .waited_ms for the next claim),
--       unhandled ('1': handed back by a worker without the step's handler),
--       no-worker queue ('' unless no live worker on that queue has the
--       handler either: then s.<step>.no_worker names it and
--       s.<step>.unhandled_since keeps when that began, Redis ms),
--       parked ('' unless a hand-off while a limiter refuses the step:
--       "<limiter>\t<key>"; with a delay the step is then 'waiting', kept as
--       s.<step>.parked, under a 'limiter' timer)
-- A graph run's node (lib.lua's "Graph runs") keeps all of this at node
-- level (s.<step>.base, .entry, .due_at); the run's status is left alone.
-- Returns per item 'ok', 'stale' or 'discarded'.
local stream, timers, stats, group, consumer = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
local now = sf_now()
local out = {}
local per = 12
local n = (#ARGV - 2) / per
for i = 1, n do
  local run = KEYS[3 + i]
  local a = 2 + (i - 1) * per
  local id, deliveries, run_id, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local attempts, delay, err = ARGV[a + 5], tonumber(ARGV[a + 6]), ARGV[a + 7]
  local rate_limited, waited, unhandled, no_worker = ARGV[a + 8], ARGV[a + 9], ARGV[a + 10], ARGV[a + 11]
  local parked = ARGV[a + 12]
  if not sf_owns(stream, group, id, consumer, deliveries) then
    out[i] = 'stale'
  elseif sf_gone_or_terminal(run) then
    sf_drop_entry(stream, group, id)
    out[i] = 'discarded'
  else
    if err ~= '' then
      redis.call('HINCRBY', stats, 'retries', 1)
      redis.call('HINCRBY', stats, 'retried:' .. (redis.call('HGET', run, 'workflow') or ''), 1)
      sf_push_error(run, step, attempts, err, now, 'retrying')
      redis.call('HSET', run, 's.' .. step .. '.error', err)
    end
    local p = 's.' .. step .. '.'
    -- A graph run's node keeps its token at node level, and the run's own
    -- status stays what it is (other nodes run on): lib.lua's "Graph runs".
    local graph = sf_is_graph(run)
    redis.call('HSET', run, p .. 'attempts', attempts, graph and p .. 'base' or 'base', attempts, 'updated_at', now,
               p .. 'rate_limited', rate_limited, p .. 'waited_ms', waited)
    -- The claim ends here: a note of its wait at a limiter (limit_wait.lua)
    -- goes with it (a hand-back spends no attempt, so the next claim by the
    -- same worker would carry the same attempt number and show it again).
    redis.call('HDEL', run, p .. 'limiter_wait')
    if no_worker ~= '' then
      redis.call('HSET', run, p .. 'no_worker', no_worker)
      redis.call('HSETNX', run, p .. 'unhandled_since', now)
    else
      -- a worker with the handler wrote this, or one serving the queue is live
      redis.call('HDEL', run, p .. 'no_worker', p .. 'unhandled_since')
    end
    if graph then
      local kind = (parked ~= '' and 'limiter') or 'retry'
      if delay > 0 then
        redis.call('ZADD', timers, now + delay, sf_timer(run_id, step, kind))
        redis.call('HSET', run, p .. 'entry', '', p .. 'status', kind == 'limiter' and 'waiting' or 'retrying',
                   p .. 'due_at', now + delay)
        if kind == 'limiter' then redis.call('HSET', run, p .. 'parked', parked) end
      else
        sf_node_enqueue(run, run_id, stream, step, attempts, now)
      end
    elseif delay > 0 and parked ~= '' then
      redis.call('ZADD', timers, now + delay, sf_timer(run_id, step, 'limiter'))
      redis.call('HSET', run, 'status', 'waiting', 'entry', '', p .. 'status', 'waiting', p .. 'parked', parked,
                 'due_at', now + delay)
    elseif delay > 0 then
      redis.call('ZADD', timers, now + delay, sf_timer(run_id, step, 'retry'))
      redis.call('HSET', run, 'status', 'retrying', 'entry', '',
                 's.' .. step .. '.status', 'retrying', 'due_at', now + delay)
    else
      local nid = sf_enqueue(run, run_id, stream, step, attempts, now)
      redis.call('HSET', run, 'status', 'queued', 'entry', nid,
                 's.' .. step .. '.status', 'queued')
    end
    sf_drop_entry(stream, group, id)
    out[i] = 'ok'
  end
end
return out
