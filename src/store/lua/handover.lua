#!lua flags=allow-oom
-- Hands task steps' claims from `serve`'s task worker to an external worker
-- (docs/worker-protocol.md), owner-checked: an entry the task worker no
-- longer holds with this delivery count (reclaimed meanwhile) is reported
-- 'lost' and left alone. XCLAIM ... JUSTID to the external worker's consumer
-- keeps the delivery count and resets the idle time: its lease starts now,
-- and from now on only that consumer's token passes the fencing checks. The
-- step's `worker` (its attempt history's) becomes the external worker.
-- KEYS: per item: stream, run hash
-- ARGV: group, from consumer, to consumer; then per item 3 values: entry id, deliveries, step
-- Returns per item 'ok' or 'lost'.
local group, from, to = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 1, #KEYS / 2 do
  local stream, run = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 3 + (i - 1) * 3
  local id, deliveries, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if sf_owns(stream, group, id, from, deliveries) then
    redis.call('XCLAIM', stream, group, to, 0, id, 'JUSTID')
    if redis.call('EXISTS', run) == 1 then redis.call('HSET', run, 's.' .. step .. '.worker', to) end
    out[i] = 'ok'
  else
    out[i] = 'lost'
  end
end
return out
