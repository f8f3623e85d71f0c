#!lua
-- Replays a dead-lettered run from its failed step, keeping earlier outputs and
-- giving the step a fresh budget of max_attempts. Attempt numbers go on (the
-- history stays readable: 1, 2, then 3, 4); `budget_from` marks where the new
-- budget starts. A durable wait starts afresh: its due time (a sleep's, a
-- signal wait's timeout) is forgotten.
-- KEYS[1] dead-letter stream, KEYS[2] run hash, KEYS[3] the failed step's queue stream,
-- KEYS[4] status index 'failed', KEYS[5] status index 'live'
-- ARGV: dead-letter entry id, run id, consumer group (a graph run's replay
-- leaves alone the nodes a worker still runs)
-- Returns the new entry id, or an error naming why the replay is refused.
local dlq, run, stream, failed, live = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local live_index = live
local did, run_id = ARGV[1], ARGV[2]
if #redis.call('XRANGE', dlq, did, did) == 0 then
  return redis.error_reply('ERR no dead-letter entry ' .. did)
end
if redis.call('EXISTS', run) == 0 then
  return redis.error_reply('ERR run ' .. run_id .. ' no longer exists')
end
if redis.call('HGET', run, 'status') ~= 'failed' then
  return redis.error_reply('ERR run ' .. run_id .. ' is ' .. redis.call('HGET', run, 'status') ..
                           ', not failed')
end
local now = sf_now()
local step = redis.call('HGET', run, 'step')
local g = sf_graph_of(run)
if g then
  -- A graph run (lib.lua's "Graph runs"; `step` is the node it failed at):
  -- every node that has not finished and whose needs have gets a token again,
  -- with a fresh budget; one a worker still runs keeps its claim; finished
  -- nodes keep their outputs. The first new entry id is returned.
  local group = ARGV[3]
  local first, live = nil, 0
  -- Whether the token of the node or item whose fields start with `p` is a
  -- stream entry a worker holds.
  local function held_by_worker(p)
    local entry = redis.call('HGET', run, p .. 'entry')
    return entry and entry ~= '' and not sf_is_ticket(entry) and
           redis.call('XPENDING', stream, group, entry, entry, 1)[1] ~= nil
  end
  -- `name` (a node or a map item) gets a token again, its budget counted
  -- from the attempts it has spent.
  local function again(name)
    local p = 's.' .. name .. '.'
    local spent = redis.call('HGET', run, p .. 'attempts') or '0'
    local nid = sf_node_enqueue(run, run_id, stream, name, spent, now)
    redis.call('HSET', run, p .. 'budget_from', spent)
    redis.call('HDEL', run, p .. 'rate_limited', p .. 'waited_ms', p .. 'no_worker', p .. 'unhandled_since',
               p .. 'due_at', p .. 'parked', p .. 'wake_at')
    first = first or nid
    live = live + 1
  end
  for _, n in ipairs(g.order) do
    local p = 's.' .. n .. '.'
    local m = redis.call('HMGET', run, p .. 'n', p .. 'next', p .. 'mp')
    if m[1] and not sf_node_finished(run, n, step) then
      -- An expanded map node (lib.lua's "Map steps"): its items that did not
      -- finish (a finished one has an output, null for a continued failure)
      -- get a token again, those a worker runs keep theirs, and more start
      -- from `next` up to max_parallel in flight.
      local count, nxt, mp = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
      local in_flight = 0
      for k = 0, nxt - 1 do
        local it = n .. '[' .. k .. ']'
        local q = 's.' .. it .. '.'
        if not redis.call('HGET', run, q .. 'output') then
          if held_by_worker(q) then live = live + 1 else again(it) end
          in_flight = in_flight + 1
        end
      end
      while in_flight < mp and nxt < count do
        local nid = sf_node_enqueue(run, run_id, stream, n .. '[' .. nxt .. ']', '0', now)
        first = first or nid
        live = live + 1
        nxt = nxt + 1
        in_flight = in_flight + 1
      end
      redis.call('HSET', run, p .. 'next', nxt, p .. 'status', 'running')
    elseif not sf_node_finished(run, n, step) then
      if held_by_worker(p) then
        live = live + 1
      else
        -- (a node with no status may be ready too: its last need finished
        -- while the run was failed, which makes no token)
        local ready = true
        for _, x in ipairs(g.needs[n]) do
          if not sf_node_finished(run, x, step) then ready = false; break end
        end
        if ready then again(n) end
      end
    end
  end
  redis.call('HSET', run, 'status', 'queued', 'live', live, 'updated_at', now)
  redis.call('HDEL', run, 'dlq_entry', 'cancel')
  redis.call('PERSIST', run)
  sf_reindex(failed, live_index, run_id)
  redis.call('XDEL', dlq, did)
  return first or ''
end
local spent = redis.call('HGET', run, 's.' .. step .. '.attempts') or '0'
local nid = sf_enqueue(run, run_id, stream, step, spent, now)
redis.call('HSET', run, 'status', 'queued', 'entry', nid, 'base', spent, 'updated_at', now,
           's.' .. step .. '.status', 'queued', 's.' .. step .. '.budget_from', spent)
redis.call('HDEL', run, 'dlq_entry', 'cancel', 's.' .. step .. '.rate_limited',
           's.' .. step .. '.waited_ms', 's.' .. step .. '.no_worker',
           's.' .. step .. '.unhandled_since', 's.' .. step .. '.wake_at')
redis.call('PERSIST', run)
sf_reindex(failed, live, run_id)
redis.call('XDEL', dlq, did)
return nid
