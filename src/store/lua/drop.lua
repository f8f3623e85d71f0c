#!lua flags=allow-oom
-- Worker-side endings that write no output, for a batch of entries of one stream:
--   mode 'cancel':  the run was cancelled while its step ran or waited; it
--                   becomes cancelled (and expires after the retention period);
--   mode 'discard': the run is already terminal; only the entry goes.
-- KEYS[1] stream, KEYS[2] retention set, KEYS[3] status index 'live', KEYS[4]
-- status index 'cancelled', KEYS[5] timer set (a child run's end tells its
-- parent: lib.lua's "Child runs"); then per item: run hash
-- ARGV: group, consumer, retention ms; then per item 5 values: entry id,
--       deliveries, step, mode, run id
-- Returns per item 'ok' or 'stale'.
local stream, group, consumer, retention = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local retention_set, live, cancelled, timers = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = sf_now()
local out = {}
local per = 5
local n = (#ARGV - 3) / per
for i = 1, n do
  local run = KEYS[5 + i]
  local a = 3 + (i - 1) * per
  local id, deliveries, step, mode, run_id = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  if not sf_owns(stream, group, id, consumer, deliveries) then
    out[i] = 'stale'
  else
    if mode == 'cancel' and redis.call('EXISTS', run) == 1 and
        not sf_terminal[redis.call('HGET', run, 'status')] then
      sf_end_cancelled(run, run_id, step, now, live, cancelled, retention_set, retention, timers)
    end
    sf_drop_entry(stream, group, id)
    out[i] = 'ok'
  end
end
return out
