#!lua flags=allow-oom
-- Hands task steps' claims from `serve`'s task worker to an external worker
-- (docs/worker-protocol.md), owner-checked: an entry the task worker no
-- longer holds with this delivery count (reclaimed meanwhile) is reported
-- 'lost' and left alone. XCLAIM ... JUSTID to the external worker's consumer
-- keeps the delivery count and resets the idle time: its lease starts now,
-- and from now on only that consumer's token passes the fencing checks.
-- KEYS: per item: stream
-- ARGV: group, from consumer, to consumer; then per item 2 values: entry id, deliveries
-- Returns per item 'ok' or 'lost'.
local group, from, to = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 1, #KEYS do
  local stream = KEYS[i]
  local id, deliveries = ARGV[3 + 2 * i - 1], ARGV[3 + 2 * i]
  if sf_owns(stream, group, id, from, deliveries) then
    redis.call('XCLAIM', stream, group, to, 0, id, 'JUSTID')
    out[i] = 'ok'
  else
    out[i] = 'lost'
  end
end
return out
