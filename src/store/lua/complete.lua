#!lua
-- Complete-and-advance for a batch of finished steps of one stream: records
-- each output and makes the next token (the next step's entry) or finishes the
-- run, then acknowledges and deletes the entries — all in one atomic step.
-- Hot path: three commands per entry (HMGET of workflow and parent, HSET,
-- and XADD; for a run's last step PEXPIRE instead of XADD) and four per
-- batch (TIME, XPENDING over the batch's range for the fencing check, XACK and
-- XDEL of every applied entry), plus, for the runs the batch completes, one
-- ZREM of the 'live' status index (completed runs have no status index), one
-- ZADD of their retention members and one completed:<workflow> HINCRBY per
-- workflow (`ended`, below: per run they cost a third of the script). No status read: a token that passes the
-- fencing check belongs to a live run, because every transition to a terminal
-- status removes the run's token in the same script (complete, dead_letter,
-- drop; cancel finishes only runs whose entry is not pending). Only a run
-- hash deleted under a live token (an operator, eviction) is checked for, so
-- an HSET never recreates part of it. The step
-- duration histogram is the worker's to add (store::Store::add_counters).
-- KEYS[1] stream, KEYS[2] partition stats hash, KEYS[3] retention set, KEYS[4]
-- status index 'live', KEYS[5] status index 'cancelled', KEYS[6] dead-letter
-- stream, KEYS[7] status index 'failed', KEYS[8] timer set (the last three
-- for a map item whose output fails its run: see below; the timer set also
-- for a child run's end, lib.lua's "Child runs"); then per item: run
-- hash, next step's stream (or the same stream)
-- ARGV: group, consumer, retention ms; then per item 12 values: entry id,
--       deliveries, run id, step, output JSON, attempts, next step ('' = last;
--       '*' = a node of a graph run: this script finds the dependents that
--       became ready, see below),
--       next queue name, workflow name, the kept signal a signal wait took
--       ('' = none: deleted from the run with the completion, sleep.lua),
--       how it ended ('' completed; 'skipped': its `if` was false, attempts
--       0; 'failed': it failed for good and its on_failure is continue, the
--       run goes on; 'expand': a map node's own token, whose output is its
--       items, compact JSON one per line), the error ('failed' only: kept
--       with the step's history; 'expand': the map's max_parallel and
--       max_output_bytes, space-separated; a completed map item: 'continue'
--       when its on_item_failure is continue, else '')
-- A graph run's node (lib.lua's "Graph runs") reads the run: the node's
-- dependents whose needs have all finished get a token (in the same
-- stream), unless the run has ended or is being cancelled; `live` goes down
-- by one and up by one per token made, and at zero the run is completed (or
-- cancelled, if a cancel came while this node ran). A node of a run that
-- failed meanwhile keeps its output (a replay will not run it again).
-- A map item (lib.lua's "Map steps") counts its output toward the map's
-- max_output_bytes (s.<node>.bytes, .cap): one that would pass it fails for
-- good instead — its output null and its error kept under on_item_failure
-- continue, else the run fails at the map as dead_letter.lua fails it.
-- Returns per item 'ok', 'stale' (token refused: nothing written) or
-- 'discarded' (the run hash is gone: the entry is dropped, nothing recreated).
local stream, stats, group, consumer, retention = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3])
local retention_set, live, cancelled = KEYS[3], KEYS[4], KEYS[5]
local dlq, failed_index, timers = KEYS[6], KEYS[7], KEYS[8]
local now = string.format('%d', sf_now())
local per = 12
local n = (#ARGV - 3) / per
local ids = {}
for i = 1, n do ids[i] = ARGV[3 + (i - 1) * per + 1] end
local held = sf_held(stream, group, consumer, ids)
local out = {}
local applied = {}
-- The runs this batch completes: their index, retention and counter writes
-- are made once for all of them, after the loop (nothing in the loop reads
-- those keys). A run's hash gets its PEXPIRE there too.
local ended = {runs = {}, ids = {}, by_workflow = {}}
local function completed(run, run_id, workflow)
  ended.runs[#ended.runs + 1] = run
  ended.ids[#ended.ids + 1] = run_id
  ended.by_workflow[workflow] = (ended.by_workflow[workflow] or 0) + 1
end
for i = 1, n do
  local run, next_stream = KEYS[2 * i + 7], KEYS[2 * i + 8]
  local a = 3 + (i - 1) * per
  local id, deliveries, run_id, step = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local output, attempts, next_step, next_queue = ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
  -- A graph run's node reads the run in one HMGET (an item: its map's
  -- counters instead of the graph, read only if its node finishes), which
  -- also says whether the run is gone; a chain's step reads its workflow.
  -- Each read also takes the run's parent (lib.lua's "Child runs"), woken
  -- if this completion ends the run.
  local item_of = next_step == '*' and sf_item_of(step) or nil
  local h = nil
  local gone = false
  local parent = {}  -- {parent run id, its node}, or nils
  local sched = false  -- the run's ordering (lib.lua's "Ordered queues"), for sf_enqueue
  if held[id] == tonumber(deliveries) then
    if item_of then
      local p = 's.' .. item_of .. '.'
      h = redis.call('HMGET', run, 'status', 'cancel', 'live', p .. 'n', p .. 'next', p .. 'done', p .. 'cap',
                     p .. 'bytes', 'parent', 'parent_node', 'sched')
      parent, sched = {h[9], h[10]}, h[11]
    elseif next_step == '*' then
      h = redis.call('HMGET', run, 'status', 'cancel', 'live', 'graph', 'steps', 'parent', 'parent_node', 'sched')
      parent, sched = {h[6], h[7]}, h[8]
    end
    if h then
      gone = not h[1]
    else
      -- (every run hash holds `workflow`: without it the hash is gone, or a remnant)
      local c = redis.call('HMGET', run, 'workflow', 'parent', 'parent_node', 'sched')
      gone, parent, sched = not c[1], {c[2], c[3]}, c[4]
    end
  end
  if held[id] ~= tonumber(deliveries) then
    out[i] = 'stale'
  elseif gone then
    applied[#applied + 1] = id
    out[i] = 'discarded'
  else
    local s = 's.' .. step .. '.'
    local took = ARGV[a + 10]
    local done = 'completed'
    if ARGV[a + 11] == 'skipped' then
      done, attempts = 'skipped', '0'
    elseif ARGV[a + 11] == 'failed' then
      done = 'failed'
      sf_push_error(run, step, attempts, ARGV[a + 12], tonumber(now), 'failed')
      redis.call('HSET', run, s .. 'error', ARGV[a + 12])
    end
    if took ~= '' and redis.call('HDEL', run, 'sig.' .. took) == 1 then
      redis.call('HINCRBY', run, 'sigs_kept', -1)
    end
    if next_step == '*' then
      -- `h` read the run; one HMGET reads every node's status; one HSET
      -- writes the outcome, the new tokens and the run's count. Map steps:
      -- lib.lua's "Map steps" (an expansion, an item's completion).
      local going = not sf_terminal[h[1]] and h[2] ~= '1'  -- new tokens may start
      local left = tonumber(h[3] or '1') - 1
      local set = {'updated_at', now}
      local function add(...) for _, v in ipairs({...}) do set[#set + 1] = v end end
      -- The item `k` of map node `node` gets a token (a new entry, base 0).
      local function start_item(node, k)
        local it = node .. '[' .. k .. ']'
        local nid = sf_enqueue(run, run_id, next_stream, it, '0', now, sched)
        add('s.' .. it .. '.status', 'queued', 's.' .. it .. '.entry', nid, 's.' .. it .. '.base', '0')
      end
      local finished, finished_as = nil, nil  -- the node this completion finishes, and how
      local run_failed = false                -- a map item's output failed the run (below)
      local emptied = nil                     -- a map node whose items' outputs moved into its own
      if ARGV[a + 11] == 'expand' then
        -- A map node's own token: `output` is its items (compact JSON, one
        -- per line), ARGV[a + 12] its max_parallel.
        local items = {}
        for line in string.gmatch(output, '[^\n]+') do items[#items + 1] = line end
        local mp, cap = string.match(ARGV[a + 12], '^(%d+) (%d+)$')
        mp = tonumber(mp)
        for k = 1, #items, 500 do
          local chunk = {}
          for j = k, math.min(#items, k + 499) do
            chunk[#chunk + 1] = 's.' .. step .. '[' .. (j - 1) .. '].item'
            chunk[#chunk + 1] = items[j]
          end
          redis.call('HSET', run, unpack(chunk))
        end
        local started = 0
        if going then started = math.min(#items, mp) end
        for k = 0, started - 1 do start_item(step, k) end
        -- (expanded while the run ends or is cancelled: no item starts, and a
        -- replay starts them)
        add(s .. 'status', going and 'running' or 'cancelled', s .. 'entry', '', s .. 'attempts', attempts,
            s .. 'n', #items, s .. 'next', started, s .. 'done', 0, s .. 'mp', mp, s .. 'cap', cap, s .. 'bytes', 0)
        left = left + started
        if #items == 0 then
          add(s .. 'output', '[]', s .. 'status', 'completed', s .. 'finished_at', now)
          finished, finished_as = step, 'completed'
        end
      else
        local node = item_of
        local q = node and ('s.' .. node) or ''
        local p = q .. '.'
        local m = node and {h[4], h[5], h[6], h[7], h[8]}  -- n, next, done, cap, bytes
        if node and done == 'completed' then
          -- The items' outputs together stay within the map's max_output_bytes:
          -- one that would pass it fails for good (a continued failure, or the run).
          local bytes = tonumber(m[5] or '0') + #output
          if bytes > tonumber(m[4] or bytes) then
            local err = 'fatal error: the outputs of map step ' .. node .. ' would take ' .. bytes ..
                        ' bytes with this item, over its max_output_bytes of ' .. m[4]
            sf_push_error(run, step, attempts, err, tonumber(now), 'failed')
            redis.call('HSET', run, s .. 'error', err)
            if ARGV[a + 12] ~= 'continue' and not sf_terminal[h[1]] then
              -- under fail_run, as dead_letter.lua does for an item (a run
              -- that has ended already just keeps the item as failed)
              sf_fail_run(run, run_id, step, attempts, err, now, dlq, stats, live, failed_index, timers)
              redis.call('HSET', run, 'step', node, p .. 'status', 'failed', s .. 'entry', '')
              sf_graph_drop_tokens(run, run_id, sf_graph_of(run), stream, group, timers, false)
              run_failed = true
            end
            done, output = 'failed', 'null'
          else
            add(p .. 'bytes', bytes)
          end
        end
        if not run_failed then
          add(s .. 'status', done, s .. 'output', output, s .. 'attempts', attempts, s .. 'finished_at', now,
              s .. 'entry', '')
        end
        if run_failed then
          -- sf_fail_run wrote the item and the run: nothing more
        elseif node then
          local count, nxt, fin = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]) + 1
          add(p .. 'done', fin)
          if going and nxt < count then
            start_item(node, nxt)
            add(p .. 'next', nxt + 1)
            left = left + 1
          end
          if fin == count then
            -- The last item: the node's output is the items' in order (read
            -- once, after this item's own is written).
            redis.call('HSET', run, unpack(set))
            set = {}
            local parts, failed = {}, {}
            for k = 0, count - 1, 500 do
              local names = {}
              for j = k, math.min(count, k + 500) - 1 do
                names[#names + 1] = q .. '[' .. j .. '].output'
                names[#names + 1] = q .. '[' .. j .. '].status'
              end
              local v = redis.call('HMGET', run, unpack(names))
              for j = 1, #v, 2 do
                parts[#parts + 1] = v[j] or 'null'
                if v[j + 1] == 'failed' then failed[#failed + 1] = k + (j - 1) / 2 end
              end
            end
            add(p .. 'output', '[' .. table.concat(parts, ',') .. ']', p .. 'status', 'completed',
                p .. 'finished_at', now, 'updated_at', now)
            if #failed > 0 then
              local list = {}
              for _, k in ipairs(failed) do
                list[#list + 1] = cjson.encode({index = k, error = redis.call('HGET', run, q .. '[' .. k .. '].error') or ''})
              end
              add(p .. 'failed', '[' .. table.concat(list, ',') .. ']')
            end
            finished, finished_as, emptied = node, 'completed', {node, count}
          end
        else
          finished, finished_as = step, done
        end
      end
      if finished and going and not run_failed then
        local graph = item_of and redis.call('HMGET', run, 'graph', 'steps') or {h[4], h[5]}
        local needs, order = cjson.decode(graph[1]), cjson.decode(graph[2])
        local names = {}
        for k, n in ipairs(order) do names[k] = 's.' .. n .. '.status' end
        local read = redis.call('HMGET', run, unpack(names))
        local node = {}
        for k, n in ipairs(order) do node[n] = read[k] end
        node[finished] = finished_as
        for _, d in ipairs(order) do
          local waits_on_this, ready = false, not node[d]
          for _, x in ipairs(needs[d]) do
            if x == finished then waits_on_this = true end
            -- (a dead node would have failed the run: no node here is one)
            if not sf_status_finished(node[x], false) then ready = false end
          end
          if waits_on_this and ready then
            local nid = sf_enqueue(run, run_id, next_stream, d, '0', now, sched)
            local p = 's.' .. d .. '.'
            add(p .. 'status', 'queued', p .. 'entry', nid, p .. 'base', '0')
            left = left + 1
          end
        end
      end
      if not sf_terminal[h[1]] and not run_failed then
        add('live', left)
        if left == 0 and h[2] == '1' then
          add('status', 'cancelled')
          sf_reindex(live, cancelled, run_id)
          sf_retain(run, retention_set, run_id, now, retention)
          sf_wake_parent(timers, now, parent[1], parent[2])
        elseif left == 0 then
          add('status', 'completed', 'entry', '')
          completed(run, run_id, ARGV[a + 9])
          sf_wake_parent(timers, now, parent[1], parent[2])
        end
      end
      redis.call('HSET', run, unpack(set))
      if emptied then
        for k = 0, emptied[2] - 1, 500 do
          local names = {}
          for j = k, math.min(emptied[2], k + 500) - 1 do names[#names + 1] = 's.' .. emptied[1] .. '[' .. j .. '].output' end
          redis.call('HDEL', run, unpack(names))
        end
      end
    elseif next_step ~= '' then
      local nid = sf_enqueue(run, run_id, next_stream, next_step, '0', now, sched)
      redis.call('HSET', run, s .. 'status', done, s .. 'output', output, s .. 'attempts', attempts,
                 s .. 'finished_at', now, 'updated_at', now,
                 'status', 'queued', 'step', next_step, 'queue', next_queue, 'entry', nid, 'base', '0',
                 's.' .. next_step .. '.status', 'queued')
    else
      redis.call('HSET', run, s .. 'status', done, s .. 'output', output, s .. 'attempts', attempts,
                 s .. 'finished_at', now, 'updated_at', now, 'status', 'completed', 'entry', '')
      completed(run, run_id, ARGV[a + 9])
      sf_wake_parent(timers, now, parent[1], parent[2])
    end
    applied[#applied + 1] = id
    out[i] = 'ok'
  end
end
for first = 1, #ended.ids, 1000 do
  local last = math.min(first + 999, #ended.ids)
  redis.call('ZREM', live, unpack(ended.ids, first, last))
  if retention > 0 then
    -- as sf_retain, for all of them
    local at, members = string.format('%d', tonumber(now) + retention), {}
    for k = first, last do
      members[#members + 1] = at
      members[#members + 1] = sf_timer(ended.ids[k], '', 'expire')
      redis.call('PEXPIRE', ended.runs[k], retention + sf_expiry_grace_ms)
    end
    redis.call('ZADD', retention_set, unpack(members))
  end
end
for workflow, count in pairs(ended.by_workflow) do
  redis.call('HINCRBY', stats, 'completed:' .. workflow, count)
end
sf_drop_entries(stream, group, applied)
return out
