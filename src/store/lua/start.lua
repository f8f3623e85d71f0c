#!lua
-- Claims a batch of fetched entries of one stream: checks every token in the
-- PEL, marks the step running (unless the run is already terminal or being
-- cancelled) and returns the run's hash so the worker can decide and run the
-- handler.
-- Fencing at claim: a fresh XREADGROUP delivery is not trusted either. A worker
-- that stalled between the read's reply and this script (CPU starvation,
-- SIGSTOP, a slow network) past the lease may find its entry reclaimed by
-- another worker, re-delivered, or already acknowledged; then it must write
-- nothing, or it would mark a step another worker owns (or has finished) as
-- running under its own name. One XPENDING over the batch's range checks all.
-- Hot path: per batch TIME and XPENDING; per entry HGETALL (for an item of a
-- map step, HMGET of what it needs: item_fields) and HSET. The hash
-- returned is the one read before the HSET (the worker decides from status,
-- cancel and base).
-- KEYS[1] stream, KEYS[2..] run hashes (one per item)
-- ARGV: group, consumer, then per item: entry id, step, deliveries (the count
--       the worker was delivered the entry with: 1 for a fresh XREADGROUP '>'
--       delivery; 0 = unknown, accept whatever count this consumer holds),
--       the entry's backlog ticket (its field `b`: it came from an ordered
--       queue's backlog, lib.lua's "Ordered queues"; '' = none)
-- Returns per item {state, deliveries, flat hash, Redis now ms}; state: 'ok', 'lost' (not
-- ours, or no longer with that count: nothing written), 'missing' (the run
-- hash is gone; entry dropped), 'stale' (a backlog token the run no longer
-- points at — cancelled, replayed, repaired meanwhile; entry dropped).
-- A backlog token's first claim writes the stream entry id over the ticket
-- in the run's (or node's) `entry`, so that cancel and the doctor see it.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]

-- What the claim of item `step` of map node `node` returns instead of the
-- whole run hash (which holds every item: reading it per item would cost
-- O(items) each): the run's own fields a worker reads, the item's, and the
-- outputs of the node's ancestors (its needs, transitively), as
-- HGETALL-shaped pairs. What does not change while the node runs (the
-- run's workflow, graph, input, its ancestors' outputs) is read once per
-- run and node in this batch.
local unchanging = {}  -- run key .. '\t' .. node -> HGETALL-shaped pairs
local function item_fields(run, step, node)
  local p = 's.' .. step .. '.'
  local names = {'status', 'cancel', p .. 'base', p .. 'budget_from', p .. 'rate_limited', p .. 'waited_ms',
                 p .. 'unhandled_since', p .. 'item', p .. 'child', p .. 'entry'}
  local key = run .. '\t' .. node
  local first = unchanging[key] == nil
  if first then
    for _, f in ipairs({'workflow', 'graph', 'steps', 'input', 'queue'}) do names[#names + 1] = f end
  end
  local values = redis.call('HMGET', run, unpack(names))
  if not values[1] then return {} end  -- the run is gone
  local h = {}
  for k = 1, 10 do
    if values[k] then
      h[#h + 1] = names[k]
      h[#h + 1] = values[k]
    end
  end
  if first then
    local kept = {}
    for k = 11, #names do
      if values[k] then
        kept[#kept + 1] = names[k]
        kept[#kept + 1] = values[k]
      end
    end
    local outputs = {}
    local needs = cjson.decode(values[12] or '{}')
    local seen, todo = {}, {node}
    while #todo > 0 do
      for _, x in ipairs(needs[table.remove(todo)] or {}) do
        if not seen[x] then
          seen[x] = true
          todo[#todo + 1] = x
          outputs[#outputs + 1] = 's.' .. x .. '.output'
        end
      end
    end
    if #outputs > 0 then
      local got = redis.call('HMGET', run, unpack(outputs))
      for k, name in ipairs(outputs) do
        if got[k] then
          kept[#kept + 1] = name
          kept[#kept + 1] = got[k]
        end
      end
    end
    unchanging[key] = kept
  end
  for _, v in ipairs(unchanging[key]) do h[#h + 1] = v end
  return h
end

local now_ms = sf_now()
local now = string.format('%d', now_ms)
local n = #KEYS - 1
local ids = {}
for i = 1, n do ids[i] = ARGV[4 * i - 1] end
local held = sf_held(stream, group, consumer, ids)
local out = {}
for i = 1, n do
  local run = KEYS[i + 1]
  local id, step, asked, ticket = ARGV[4 * i - 1], ARGV[4 * i], tonumber(ARGV[4 * i + 1]), ARGV[4 * i + 2]
  local deliveries = held[id]
  if deliveries == nil or (asked ~= 0 and asked ~= deliveries) then
    out[i] = {'lost', 0, {}, now_ms}
  else
    local node = sf_item_of(step)
    local h = node and item_fields(run, step, node) or redis.call('HGETALL', run)
    if #h == 0 then
      sf_drop_entry(stream, group, id)
      out[i] = {'missing', deliveries, {}, now_ms}
    else
      local status, cancel, base, graph, entry
      for k = 1, #h, 2 do
        local f = h[k]
        if f == 'status' then status = h[k + 1]
        elseif f == 'cancel' then cancel = h[k + 1]
        elseif f == 'base' then base = h[k + 1]
        elseif f == 'graph' then graph = h[k + 1]
        elseif f == 'entry' then entry = h[k + 1] end
      end
      -- a graph run's node counts its own attempts and keeps its own entry
      -- (lib.lua's "Graph runs"); a second pass, so that a chain's claim
      -- builds no field name for it
      local entry_field = 'entry'
      if graph and graph ~= '' then
        local node_base_field = 's.' .. step .. '.base'
        entry_field = 's.' .. step .. '.entry'
        base, entry = nil, nil
        for k = 1, #h, 2 do
          if h[k] == node_base_field then base = h[k + 1]
          elseif h[k] == entry_field then entry = h[k + 1] end
        end
      end
      -- A backlog token's claim (lib.lua's "Ordered queues"): the run must
      -- still point at its ticket (or, claimed before, at this entry).
      local swap = ticket ~= '' and entry ~= id and entry and
                   string.sub(entry, 1, #ticket + 3) == 'b:' .. ticket .. '\t'
      if ticket ~= '' and entry ~= id and not swap then
        sf_drop_entry(stream, group, id)
        out[i] = {'stale', deliveries, {}, now_ms}
      else
        if not sf_terminal[status] and cancel ~= '1' then
          redis.call('HSET', run, 'status', 'running', 'updated_at', now,
                     's.' .. step .. '.status', 'running',
                     's.' .. step .. '.attempts', tonumber(base or 0) + deliveries,
                     's.' .. step .. '.started_at', now,
                     's.' .. step .. '.worker', consumer,
                     entry_field, swap and id or (entry or ''))
        end
        out[i] = {'ok', deliveries, h, now_ms}
      end
    end
  end
end
return out
