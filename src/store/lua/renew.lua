-- Renews the leases of a worker's in-flight entries, owner-checked: an entry
-- whose token is no longer ours (reclaimed by another worker) is reported
-- 'lost' and left alone — a bare XCLAIM would steal it back. XCLAIM ... JUSTID
-- resets the idle time without bumping the delivery count.
-- KEYS: per item: stream, run hash
-- ARGV: group, consumer; then per item: entry id, deliveries
-- Returns per item 'ok', 'cancel' (ours, and the run was cancelled) or 'lost'.
local group, consumer = ARGV[1], ARGV[2]
local out = {}
for i = 1, #KEYS / 2 do
  local stream, run = KEYS[2 * i - 1], KEYS[2 * i]
  local id, deliveries = ARGV[2 * i + 1], ARGV[2 * i + 2]
  if sf_owns(stream, group, id, consumer, deliveries) then
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
    if redis.call('HGET', run, 'cancel') == '1' then out[i] = 'cancel' else out[i] = 'ok' end
  else
    out[i] = 'lost'
  end
end
return out
