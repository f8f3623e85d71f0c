-- Complete-and-advance for a batch of finished steps of one stream: records
-- each output and makes the next token (the next step's entry) or finishes the
-- run, then acknowledges and deletes the entry — all in one atomic step.
-- KEYS[1] stream, KEYS[2] partition stats hash; then per item: run hash, next step's stream
-- (or the same stream)
-- ARGV: group, consumer, retention ms; then per item 10 values: entry id,
--       deliveries, run id, step, output JSON, attempts, next step ('' = last),
--       next queue name, workflow name and the attempt's duration in ms (for
--       the step duration histogram in the stats hash)
-- Returns per item 'ok', 'stale' (token refused: nothing written) or
-- 'discarded' (the run was already terminal: entry dropped).
local stream, stats, group, consumer, retention = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = sf_now()
local out = {}
local per = 10
local n = (#ARGV - 3) / per
for i = 1, n do
  local run, next_stream = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local a = 3 + (i - 1) * per
  local id, deliveries, run_id, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local output, attempts, next_step, next_queue = ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
  local workflow, duration = ARGV[a + 9], tonumber(ARGV[a + 10])
  if not sf_owns(stream, group, id, consumer, deliveries) then
    out[i] = 'stale'
  elseif sf_terminal[redis.call('HGET', run, 'status')] then
    sf_drop_entry(stream, group, id)
    out[i] = 'discarded'
  else
    redis.call('HSET', run, 's.' .. step .. '.status', 'completed',
               's.' .. step .. '.output', output, 's.' .. step .. '.attempts', attempts,
               's.' .. step .. '.finished_at', now, 'updated_at', now)
    if next_step ~= '' then
      local nid = redis.call('XADD', next_stream, '*', 'r', run_id, 's', next_step, 'a', '0')
      redis.call('HSET', run, 'status', 'queued', 'step', next_step, 'queue', next_queue,
                 'entry', nid, 'base', '0', 's.' .. next_step .. '.status', 'queued')
    else
      redis.call('HSET', run, 'status', 'completed', 'entry', '')
      redis.call('HINCRBY', stats, 'completed:' .. (redis.call('HGET', run, 'workflow') or ''), 1)
      if retention > 0 then redis.call('PEXPIRE', run, retention) end
    end
    local label = workflow .. ':' .. step
    redis.call('HINCRBY', stats, 'step_ms:' .. label .. ':' .. sf_duration_bucket(duration), 1)
    redis.call('HINCRBY', stats, 'step_ms_sum:' .. label, duration)
    sf_drop_entry(stream, group, id)
    out[i] = 'ok'
  end
end
return out
