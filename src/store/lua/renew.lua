#!lua flags=allow-oom
-- Renews the leases of a worker's in-flight entries, owner-checked: an entry
-- whose token is no longer ours (reclaimed by another worker) is reported
-- 'lost' and left alone — a bare XCLAIM would steal it back. XCLAIM ... JUSTID
-- resets the idle time without bumping the delivery count.
-- The handler's latest progress report rides along, fenced like the lease:
-- s.<step>.progress (0..1, '' = none given), .message and .progress_at.
-- KEYS: per item: stream, run hash
-- ARGV: group, consumer; then per item 6 values: entry id, deliveries, step,
--       report ('1' = write the next two, '' = no new report), progress, message
-- Returns per item 'ok', 'cancel' (ours, and the run was cancelled) or 'lost'.
local group, consumer = ARGV[1], ARGV[2]
local out = {}
local now
for i = 1, #KEYS / 2 do
  local stream, run = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 2 + (i - 1) * 6
  local id, deliveries, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if sf_owns(stream, group, id, consumer, deliveries) then
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
    if ARGV[a + 4] == '1' then
      now = now or sf_now()
      local s = 's.' .. step .. '.'
      redis.call('HSET', run, s .. 'progress', ARGV[a + 5], s .. 'message', ARGV[a + 6], s .. 'progress_at', now)
    end
    if redis.call('HGET', run, 'cancel') == '1' then out[i] = 'cancel' else out[i] = 'ok' end
  else
    out[i] = 'lost'
  end
end
return out
