#!lua
-- Starts the child run of a child workflow step (ChildSpec), for a batch of
-- claimed tokens of one stream, each in one fenced step: the child is
-- created (as submit.lua creates a run, with `parent` and `parent_node`
-- naming the token holder that waits for it), and the holder is parked
-- `waiting` on it (s.<holder>.child), its entry acknowledged and deleted
-- and its claim refunded — the child is now the holder's token, and `live`
-- does not change. The child's id is derived from the holder
-- (store::child_run_id) and lies in the parent's partition; a child of that
-- id that exists already (a replay of the parent, a step claimed again) is
-- waited for instead of started twice, and one that has ended gets its
-- 'child' timer at once, as its end would have set it (lib.lua's "Child
-- runs"). A parent being cancelled starts no child: the holder ends as
-- cancelled, as drop.lua ends it. On ordered queues (`sched`, lib.lua's
-- "Ordered queues") the child has its parent's priority and the fairness
-- keys of its own input and queues.
-- KEYS[1] stream, KEYS[2] timer set, KEYS[3] partition stats, KEYS[4] index
-- of every run, KEYS[5] status index 'live', KEYS[6] status index
-- 'cancelled', KEYS[7] retention set, KEYS[8] deadline set; then per item:
-- parent run hash, child run hash, the child's first queue stream, the
-- child workflow's index
-- ARGV: group, consumer, retention ms; then per item 13 values: entry id,
--       deliveries, parent run id, holder (step, or "step[k]"), attempts to
--       record (the count before this claim), child run id, child workflow,
--       its first step, its queue, its steps (JSON), its graph ('' = a
--       chain), its input (JSON), its deadline ms (0 = none), its `sched` at
--       the default priority (store::run_sched; '-' = the parent's as it is)
-- Returns per item 'started', 'attached' (the child existed), 'cancelled',
-- 'stale' or 'discarded'.
local stream, timers, stats, ix_all, live = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cancelled, retention_set, deadlines = KEYS[6], KEYS[7], KEYS[8]
local group, consumer, retention = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = sf_now()
local per = 14

-- The child's `sched`: its own (fairness keys of its input and queues) with
-- the parent's priority.
local function child_sched(parent_sched, own)
  if own == '-' then return parent_sched end
  local p = 5
  if parent_sched ~= '' then
    local ok, d = pcall(cjson.decode, parent_sched)
    if ok and type(d) == 'table' and type(d.p) == 'number' then p = d.p end
  end
  local q
  if own ~= '' then
    local ok, d = pcall(cjson.decode, own)
    if ok and type(d) == 'table' and type(d.q) == 'table' then q = d.q end
  end
  if p == 5 and q == nil then return '' end
  local s = '{"p":' .. string.format('%d', p)
  if q then s = s .. ',"q":' .. cjson.encode(q) end
  return s .. '}'
end
local out = {}
for i = 1, (#ARGV - 3) / per do
  local a = 3 + (i - 1) * per
  local k = 8 + (i - 1) * 4
  local parent, child, child_stream, child_index = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local id, deliveries, parent_id, holder = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local attempts, child_id, workflow = ARGV[a + 5], ARGV[a + 6], ARGV[a + 7]
  local p = 's.' .. holder .. '.'
  if not sf_owns(stream, group, id, consumer, deliveries) then
    out[i] = 'stale'
  elseif sf_gone_or_terminal(parent) then
    sf_drop_entry(stream, group, id)
    out[i] = 'discarded'
  elseif redis.call('HGET', parent, 'cancel') == '1' then
    sf_end_cancelled(parent, parent_id, holder, now, live, cancelled, retention_set, retention, timers)
    sf_drop_entry(stream, group, id)
    out[i] = 'cancelled'
  else
    local status = redis.call('HGET', child, 'status')
    if status then
      if sf_terminal[status] then redis.call('ZADD', timers, now, sf_timer(parent_id, holder, 'child')) end
      out[i] = 'attached'
    else
      sf_create_run({run = child, run_id = child_id, workflow = workflow, step = ARGV[a + 8], queue = ARGV[a + 9],
                     steps = ARGV[a + 10], input = ARGV[a + 12], metadata = '', start = 0, stream = child_stream,
                     timers = timers, now = now, deadline = tonumber(ARGV[a + 13]), deadlines = deadlines,
                     graph = ARGV[a + 11],
                     sched = child_sched(redis.call('HGET', parent, 'sched') or '', ARGV[a + 14])})
      redis.call('HSET', child, 'parent', parent_id, 'parent_node', holder)
      for _, key in ipairs({ix_all, child_index, live}) do redis.call('ZADD', key, 0, child_id) end
      redis.call('HINCRBY', stats, 'submitted:' .. workflow, 1)
      out[i] = 'started'
    end
    redis.call('HSET', parent, 'updated_at', now, p .. 'status', 'waiting', p .. 'attempts', attempts,
               p .. 'entry', '', p .. 'base', attempts, p .. 'child', child_id)
    sf_drop_entry(stream, group, id)
  end
end
return out
