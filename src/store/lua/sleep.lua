#!lua
-- Parks durable waits (the `wait` kind) of one stream until they are due:
-- each step becomes 'waiting' with its due time (s.<step>.wake_at, kept so
-- that the next claim completes it), a 'sleep' member goes in the timer set,
-- and the entry is acknowledged and deleted — the wait holds no worker and no
-- entry. The claim is refunded (attempts as given: the count before it).
-- promote.lua queues the step again when due. Fenced like every transition.
-- KEYS[1] stream, KEYS[2] timer set; then per item: run hash
-- ARGV: group, consumer; then per item 6 values: entry id, deliveries, run
--       id, step, attempts to record, due time (Redis Unix ms)
-- Returns per item 'ok', 'stale' or 'discarded'.
local stream, timers, group, consumer = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local now = sf_now()
local out = {}
local per = 6
for i = 1, (#ARGV - 2) / per do
  local run = KEYS[2 + i]
  local a = 2 + (i - 1) * per
  local id, deliveries, run_id, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local attempts, due = ARGV[a + 5], tonumber(ARGV[a + 6])
  if not sf_owns(stream, group, id, consumer, deliveries) then
    out[i] = 'stale'
  elseif sf_gone_or_terminal(run) then
    sf_drop_entry(stream, group, id)
    out[i] = 'discarded'
  else
    local p = 's.' .. step .. '.'
    redis.call('ZADD', timers, due, sf_timer(run_id, step, 'sleep'))
    redis.call('HSET', run, 'status', 'waiting', 'entry', '', 'updated_at', now, 'base', attempts,
               p .. 'status', 'waiting', p .. 'attempts', attempts, p .. 'wake_at', due)
    sf_drop_entry(stream, group, id)
    out[i] = 'ok'
  end
end
return out
