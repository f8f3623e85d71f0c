#!lua
-- Doctor's repair for a batch of runs of one partition: gives each live run
-- that holds no deliverable token one new token at its current step (a
-- scheduled run: its start timer again, at its run_at; a durable wait: its
-- sleep or signal timer again, at its due time; a signal wait without
-- timeout holds its token by waiting on its name),
-- re-checking that condition here, per run, so two repairs at once (or a
-- worker acting between the doctor's look and this call) never give a run a
-- second token. A token is deliverable when it is in the timer sets, in the
-- dead-letter queue, claimed (in the PEL), in its stream above the group's
-- last-delivered id, or in its ordered queue's backlog (lib.lua's "Ordered
-- queues": still in a list, or fed into the stream); an entry at or below it and not claimed is never read by
-- XREADGROUP again, so it is deleted and replaced.
-- KEYS[1] timer set, KEYS[2] schema 1's delayed set, KEYS[3] dead-letter stream;
--   then per item 2 keys: run hash, its queue stream (as read before the call)
-- ARGV: group; then per item 2 values: run id, queue name (as read before the call)
-- A graph run's nodes (and map items) are repaired each (repaired:<node>,<node>...).
-- Returns per item 'repaired:<step>', 'rescheduled:<step>' (a scheduled run
-- or a durable wait), 'timeout:<step>' (a signal wait's timeout timer),
-- or 'skipped:<why>' (gone, finished,
-- has_token, moved: the run's queue is no longer the one named).
local timers, legacy, dlq, group = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local live = {scheduled = true, queued = true, running = true, retrying = true, waiting = true}

-- The group's last-delivered id, or nil when the stream or group is missing.
local function last_delivered(stream)
  if redis.call('EXISTS', stream) == 0 then return nil end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local name, last
    for k = 1, #g, 2 do
      if g[k] == 'name' then name = g[k + 1] end
      if g[k] == 'last-delivered-id' then last = g[k + 1] end
    end
    if name == group then return last end
  end
  return nil
end

local now = sf_now()
local out = {}
for i = 1, (#ARGV - 1) / 2 do
  local run, stream = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local run_id, queue = ARGV[2 * i], ARGV[2 * i + 1]
  local f = redis.call('HMGET', run, 'status', 'entry', 'dlq_entry', 'step', 'queue', 'base', 'run_at')
  local status, entry, dlq_entry, step = f[1], f[2] or '', f[3] or '', f[4]
  if not status then
    out[i] = 'skipped:gone'
  elseif not live[status] then
    out[i] = 'skipped:finished'
  elseif f[5] ~= queue then
    out[i] = 'skipped:moved'
  elseif sf_is_graph(run) then
    -- A graph run (lib.lua's "Graph runs"): every node whose status says it
    -- holds a token and holds none deliverable gets one again; `live` is
    -- then the count of nodes holding one.
    local g = sf_graph_of(run)
    local last, fixed, held = last_delivered(stream), {}, 0
    for _, n in ipairs(sf_graph_holders(run, g)) do
      local p = 's.' .. n .. '.'
      local h = redis.call('HMGET', run, p .. 'status', p .. 'entry', p .. 'due_at', p .. 'base', p .. 'parked',
                           p .. 'signal', p .. 'wake_at')
      local st, e = h[1], h[2] or ''
      local timer = nil
      for _, kind in ipairs(sf_graph_timer_kinds) do
        if redis.call('ZSCORE', timers, sf_timer(run_id, n, kind)) then timer = kind end
      end
      local deliverable
      if sf_is_ticket(e) then
        deliverable = sf_ticket_held(stream, group, e)
      else
        deliverable = e ~= '' and #redis.call('XRANGE', stream, e, e) > 0 and
            (redis.call('XPENDING', stream, group, e, e, 1)[1] ~= nil or not last or sf_id_less(last, e))
      end
      if timer or deliverable or sf_waits_on_name(run, n) then
        held = held + 1
      elseif st == 'queued' or st == 'running' then
        if e ~= '' and not sf_is_ticket(e) then redis.call('XDEL', stream, e) end
        sf_node_enqueue(run, run_id, stream, n, h[4] or '0', now)
        fixed[#fixed + 1] = n
        held = held + 1
      elseif st == 'retrying' or st == 'waiting' then
        local kind = (st == 'retrying' and 'retry') or ((h[5] and h[5] ~= '') and 'limiter') or
                     ((h[6] and h[6] ~= '') and 'signal') or (h[7] and 'sleep') or 'start'
        local at = tonumber(h[3]) or tonumber(h[7]) or (kind == 'start' and tonumber(f[7])) or now
        redis.call('ZADD', timers, at, sf_timer(run_id, n, kind))
        fixed[#fixed + 1] = n
        held = held + 1
      end
    end
    redis.call('HSET', run, 'live', held)
    if #fixed == 0 then out[i] = 'skipped:has_token' else out[i] = 'repaired:' .. table.concat(fixed, ',') end
  else
    local held = false
    if step and (redis.call('ZSCORE', timers, sf_timer(run_id, step, 'retry')) or
                 redis.call('ZSCORE', timers, sf_timer(run_id, step, 'start')) or
                 redis.call('ZSCORE', timers, sf_timer(run_id, step, 'sleep')) or
                 redis.call('ZSCORE', timers, sf_timer(run_id, step, 'signal')) or
                 redis.call('ZSCORE', timers, sf_timer(run_id, step, 'limiter'))) then
      held = true
    end
    local signal, due, parked = nil, nil, false
    if step and status == 'waiting' then
      local w = redis.call('HMGET', run, 's.' .. step .. '.signal', 's.' .. step .. '.wake_at',
                           's.' .. step .. '.parked', 'due_at')
      if w[1] and w[1] ~= '' then signal = w[1] end
      due = w[2]
      if w[3] and w[3] ~= '' then parked, due = true, w[4] end
      -- a signal wait without timeout waits on its name alone: that is its token
      if signal and not due then held = true end
    end
    if redis.call('ZSCORE', legacy, run_id) then held = true end
    if dlq_entry ~= '' and #redis.call('XRANGE', dlq, dlq_entry, dlq_entry) > 0 then held = true end
    local stale_entry = nil
    if not held and sf_is_ticket(entry) then
      held = sf_ticket_held(stream, group, entry)
    elseif not held and entry ~= '' and #redis.call('XRANGE', stream, entry, entry) > 0 then
      local last = last_delivered(stream)
      if redis.call('XPENDING', stream, group, entry, entry, 1)[1] or not last or sf_id_less(last, entry) then
        held = true
      else
        stale_entry = entry
      end
    end
    if held then
      out[i] = 'skipped:has_token'
    elseif status == 'scheduled' then
      -- its start timer was lost: back in the timer set at its run_at (promoted at once if past)
      redis.call('ZADD', timers, tonumber(f[7]) or now, sf_timer(run_id, step, 'start'))
      out[i] = 'rescheduled:' .. step
    elseif status == 'waiting' then
      -- a durable wait's sleep (or signal timeout) timer was lost: back at its
      -- due time (promoted at once if past)
      -- (or a step parked at its limiter: it asks again at its due time)
      local kind = (parked and 'limiter') or (signal and 'signal') or 'sleep'
      redis.call('ZADD', timers, tonumber(due) or now, sf_timer(run_id, step, kind))
      out[i] = (signal and not parked and 'timeout:' or 'rescheduled:') .. step
    else
      if stale_entry then redis.call('XDEL', stream, stale_entry) end
      local nid = sf_enqueue(run, run_id, stream, step, f[6] or '0', now)
      redis.call('HSET', run, 'status', 'queued', 'entry', nid, 'updated_at', now,
                 's.' .. step .. '.status', 'queued')
      out[i] = 'repaired:' .. step
    end
  end
end
return out
