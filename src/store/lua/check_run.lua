#!lua flags=no-writes
-- Invariant 1 for one run, read atomically: where are its tokens?
-- KEYS[1] run hash, KEYS[2] its queue stream (or any key if none), KEYS[3] timer set,
-- KEYS[4] dead-letter stream, KEYS[5] schema 1's delayed set
-- ARGV: run id, group
-- Returns {status, tokens in the stream (or in its ordered queue's backlog:
-- lib.lua's "Ordered queues"), in the timer sets (a retry, start,
-- sleep, signal or limiter timer of its step, a schema 1 delayed member, or a signal
-- wait without timeout, which waits on its name alone), in the DLQ, pending(0/1)}.
-- For a graph run (lib.lua's "Graph runs") the counts are over all its
-- nodes (and map items: sf_graph_holders), pending counts the claimed entries, and a 6th value is the number
-- of tokens it should hold (`live`).
local run, stream, timers, dlq, legacy = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local run_id, group = ARGV[1], ARGV[2]
local f = redis.call('HMGET', run, 'status', 'entry', 'dlq_entry', 'step', 'live')
local g = sf_graph_of(run)
if g then
  -- A graph run (lib.lua's "Graph runs"): the tokens of all its nodes, and
  -- how many it should hold (`live`).
  local in_stream, pending, in_delayed = 0, 0, 0
  for _, n in ipairs(sf_graph_holders(run, g)) do
    local entry = redis.call('HGET', run, 's.' .. n .. '.entry')
    if sf_is_ticket(entry) then
      local held, claimed = sf_ticket_held(stream, group, entry)
      if held then in_stream = in_stream + 1 end
      if claimed then pending = pending + 1 end
    elseif entry and entry ~= '' and redis.call('EXISTS', stream) == 1 and
        #redis.call('XRANGE', stream, entry, entry) > 0 then
      in_stream = in_stream + 1
      if redis.call('XPENDING', stream, group, entry, entry, 1)[1] then pending = pending + 1 end
    end
    for _, kind in ipairs(sf_graph_timer_kinds) do
      if redis.call('ZSCORE', timers, sf_timer(run_id, n, kind)) then in_delayed = in_delayed + 1 end
    end
    if sf_waits_on_name(run, n) then in_delayed = in_delayed + 1 end
  end
  local in_dlq = 0
  if f[3] and f[3] ~= '' then in_dlq = #redis.call('XRANGE', dlq, f[3], f[3]) end
  return {f[1] or '', in_stream, in_delayed, in_dlq, pending, tonumber(f[5] or '0')}
end
local signal_wait = nil
if f[1] == 'waiting' and f[4] then
  signal_wait = redis.call('HMGET', run, 's.' .. f[4] .. '.signal', 's.' .. f[4] .. '.wake_at')
end
local in_stream, pending = 0, 0
if sf_is_ticket(f[2]) then
  local held, claimed = sf_ticket_held(stream, group, f[2])
  in_stream, pending = held and 1 or 0, claimed and 1 or 0
elseif f[2] and f[2] ~= '' and redis.call('EXISTS', stream) == 1 then
  in_stream = #redis.call('XRANGE', stream, f[2], f[2])
  if in_stream > 0 and redis.call('XPENDING', stream, group, f[2], f[2], 1)[1] then pending = 1 end
end
local in_delayed = 0
if f[4] then
  for _, kind in ipairs({'retry', 'start', 'sleep', 'signal', 'limiter'}) do
    if redis.call('ZSCORE', timers, sf_timer(run_id, f[4], kind)) then in_delayed = in_delayed + 1 end
  end
  -- a signal wait without timeout is its own token: the signal queues it
  if signal_wait and signal_wait[1] and signal_wait[1] ~= '' and not signal_wait[2] then
    in_delayed = in_delayed + 1
  end
end
if redis.call('ZSCORE', legacy, run_id) then in_delayed = in_delayed + 1 end
local in_dlq = 0
if f[3] and f[3] ~= '' then in_dlq = #redis.call('XRANGE', dlq, f[3], f[3]) end
return {f[1] or '', in_stream, in_delayed, in_dlq, pending, -1}
