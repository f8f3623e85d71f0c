#!lua
-- Dead-letter for a batch of steps of one stream: records the error, marks the
-- run failed and adds it to the dead-letter stream with its error history,
-- then acknowledges and deletes the entry, atomically.
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] partition stats hash,
-- KEYS[4] status index 'live', KEYS[5] status index 'failed', KEYS[6] timer
-- set; then per item: run hash
-- A graph run (lib.lua's "Graph runs") fails at the node: the other nodes'
-- tokens go too (queued entries no worker holds, timers; those nodes become
-- `cancelled`); nodes a worker runs finish their attempt, and their outputs
-- are kept (complete.lua), so a replay starts exactly what did not finish.
-- A failed run is kept until it is replayed or purged (no retention).
-- ARGV: group, consumer; then per item 6 values: entry id, deliveries, run id,
--       step, attempts, error
-- Returns per item 'ok', 'stale' or 'discarded'.
local stream, dlq, stats, group, consumer = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
local live, failed, timers = KEYS[4], KEYS[5], KEYS[6]
local now = sf_now()
local out = {}
local per = 6
local n = (#ARGV - 2) / per
for i = 1, n do
  local run = KEYS[6 + i]
  local a = 2 + (i - 1) * per
  local id, deliveries, run_id, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local attempts, err = ARGV[a + 5], ARGV[a + 6]
  if not sf_owns(stream, group, id, consumer, deliveries) then
    out[i] = 'stale'
  elseif sf_gone_or_terminal(run) then
    sf_drop_entry(stream, group, id)
    out[i] = 'discarded'
  else
    sf_fail_run(run, run_id, step, attempts, err, now, dlq, stats, live, failed, timers)
    sf_drop_entry(stream, group, id)
    local g = sf_graph_of(run)
    if g then
      -- An item of a map step fails its node: the run's `step` is the node
      -- (replay's dead node), the dead-letter entry names the item.
      local node = sf_item_of(step)
      redis.call('HSET', run, 'step', node or step, 's.' .. step .. '.entry', '')
      if node then redis.call('HSET', run, 's.' .. node .. '.status', 'failed') end
      sf_graph_drop_tokens(run, run_id, g, stream, group, timers, false)
    end
    out[i] = 'ok'
  end
end
return out
