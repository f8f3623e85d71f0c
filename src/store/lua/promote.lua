#!lua
-- The second phase of promotion: due timers go to their queue — a retry (the
-- same step, with the attempts so far), a scheduled run's start (its first
-- step) or a durable wait's end, a sleep or a signal wait's timeout (the
-- same step: its next claim completes it, or ends it as timed out), or a step
-- parked while its limiter refused it (the same step, asking again), or a
-- graph node whose child run ended (a 'child' member: lib.lua's "Child
-- runs"; its claim reads the child's outcome). The
-- caller read them with due.lua and each run's queue, so every key
-- is declared; each member is checked again here (still in its set, still
-- due, the run still on that queue, still retrying, scheduled or waiting).
-- KEYS[1] timer set, KEYS[2] schema 1's delayed set; then per member: run
--   hash, the run's queue stream
-- ARGV: per member 3 values: member, set ('t' timer set, 'l' schema 1 set),
--       queue name as the caller read it
-- Returns the number of runs moved to their queue.
local timers, legacy = KEYS[1], KEYS[2]
local now = sf_now()
local moved = 0
for i = 1, #ARGV / 3 do
  local member, set, queue = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local run, stream = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local zset = (set == 't') and timers or legacy
  local score = redis.call('ZSCORE', zset, member)
  if score and tonumber(score) <= now then
    local run_id, node, kind = member, nil, 'retry'
    if set == 't' then run_id, node, kind = string.match(member, '^([^\t]*)\t([^\t]*)\t([^\t]*)$') end
    local f = redis.call('HMGET', run, 'status', 'step', 'queue', 'base', 'graph')
    if f[5] and f[5] ~= '' then
      -- A graph run's node: its own status says whether this timer is its token.
      if f[3] == queue or sf_terminal[f[1]] or not f[1] then
        local p = 's.' .. (node or '') .. '.'
        local g = redis.call('HMGET', run, p .. 'status', p .. 'base')
        local wanted = (kind == 'retry' and 'retrying') or
                       ((kind == 'start' or kind == 'limiter' or kind == 'sleep' or kind == 'signal' or
                         kind == 'child') and 'waiting')
        if wanted and g[1] == wanted and f[1] and not sf_terminal[f[1]] then
          sf_node_enqueue(run, run_id, stream, node, g[2] or '0', now)
          redis.call('HDEL', run, p .. 'due_at', p .. 'parked')
          if f[1] == 'scheduled' then redis.call('HSET', run, 'status', 'queued') end
          moved = moved + 1
        end
        redis.call('ZREM', zset, member)
      end
    elseif (f[1] == 'retrying' or f[1] == 'scheduled' or f[1] == 'waiting') and f[3] ~= queue then
      -- the caller named another stream than the run's: the next pass reads it again
    else
      local wanted = (kind == 'retry' and 'retrying') or (kind == 'start' and 'scheduled') or
                     ((kind == 'sleep' or kind == 'signal' or kind == 'limiter') and 'waiting')
      if wanted and f[1] == wanted and (node == nil or node == f[2]) then
        local nid = sf_enqueue(run, run_id, stream, f[2], f[4] or '0', now)
        redis.call('HSET', run, 'status', 'queued', 'entry', nid, 'updated_at', now,
                   's.' .. f[2] .. '.status', 'queued')
        redis.call('HDEL', run, 'due_at')
        if kind == 'limiter' then redis.call('HDEL', run, 's.' .. f[2] .. '.parked') end
        moved = moved + 1
      end
      redis.call('ZREM', zset, member)
    end
  end
end
return moved
