-- Prepended to every steadfast script at build time.
--
-- Fencing: a worker's claim of a stream entry is the token (entry id,
-- consumer, delivery count). Redis bumps the delivery count on every
-- XREADGROUP/XCLAIM/XAUTOCLAIM delivery, so a worker that was paused past its
-- lease and reclaimed by another (or by itself after a restart) holds a stale
-- token, and every transition below refuses it.
local function sf_owns(stream, group, id, consumer, deliveries)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  local e = p[1]
  return e ~= nil and e[2] == consumer and tonumber(e[4]) == tonumber(deliveries)
end

-- Redis time in ms: leases, delays and timestamps never use worker clocks.
local function sf_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- (A backlog ticket "b:<n>", lib.lua's "Ordered queues", is no stream id:
-- its claim finds it stale and drops it.)
local function sf_drop_entry(stream, group, id)
  if string.sub(id, 1, 2) == 'b:' then return end
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end

-- Stream ids ("<ms>-<seq>", decimal) in order.
local function sf_id_less(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end

-- sf_owns for a batch, in one XPENDING over the ids' range: the delivery
-- count of each of `ids` that `consumer` holds ({id -> deliveries}; ids it
-- does not hold are absent). The range may list other entries of the
-- consumer: at most its live claims, hence the count bound.
-- Each id is parsed once into two numbers (sf_id_less per comparison cost
-- four pattern matches per id: a sixth of start.lua's time); exact, since
-- ids made by XADD '*' hold a time in ms and a per-ms sequence number, both
-- far below 2^53.
local function sf_held(stream, group, consumer, ids)
  local lo, hi = ids[1], ids[1]
  local lo_ms, lo_seq = string.match(lo, '^(%d+)-(%d+)$')
  lo_ms, lo_seq = tonumber(lo_ms), tonumber(lo_seq)
  local hi_ms, hi_seq = lo_ms, lo_seq
  for k = 2, #ids do
    local id = ids[k]
    local ms, seq = string.match(id, '^(%d+)-(%d+)$')
    ms, seq = tonumber(ms), tonumber(seq)
    if ms < lo_ms or (ms == lo_ms and seq < lo_seq) then lo, lo_ms, lo_seq = id, ms, seq end
    if ms > hi_ms or (ms == hi_ms and seq > hi_seq) then hi, hi_ms, hi_seq = id, ms, seq end
  end
  local held = {}
  for _, e in ipairs(redis.call('XPENDING', stream, group, lo, hi, 10000 + #ids, consumer)) do
    held[e[1]] = tonumber(e[4])
  end
  return held
end

-- sf_drop_entry for a batch: one XACK and one XDEL per 1000 ids.
local function sf_drop_entries(stream, group, ids)
  for first = 1, #ids, 1000 do
    local chunk = {unpack(ids, first, math.min(first + 999, #ids))}
    redis.call('XACK', stream, group, unpack(chunk))
    redis.call('XDEL', stream, unpack(chunk))
  end
end

local sf_terminal = {completed = true, failed = true, cancelled = true}

-- A run that ended, or whose hash is gone (deleted by an operator, evicted):
-- its entry is dropped and nothing is written, so no partial hash is recreated.
local function sf_gone_or_terminal(run)
  local status = redis.call('HGET', run, 'status')
  return not status or sf_terminal[status] == true
end

-- Appends {attempt, error, started_at, failed_at, worker, outcome} to the
-- step's error history (a JSON array, the newest last, at most 20 entries
-- kept); outcome 'retrying' or 'failed'. The run view derives the attempt
-- history from it (store/run_view.cpp).
local function sf_push_error(run, step, attempt, err, now, outcome)
  local field = 's.' .. step .. '.errors'
  local raw = redis.call('HGET', run, field)
  local list = {}
  if raw then list = cjson.decode(raw) end
  local s = redis.call('HMGET', run, 's.' .. step .. '.started_at', 's.' .. step .. '.worker')
  table.insert(list, {attempt = tonumber(attempt), error = err,
                      started_at = tonumber(s[1] or 0), failed_at = now,
                      worker = s[2] or '', outcome = outcome})
  while #list > 20 do table.remove(list, 1) end
  redis.call('HSET', run, field, cjson.encode(list))
end

-- A member of the partition's timer set: "<run>\t<node>\t<kind>" (kind:
-- 'retry', 'start' (a delayed run), 'sleep' and 'signal' (durable waits),
-- 'limiter' (a step parked while its limiter refuses it); schema 2's
-- 'expire', with no node, is in the retention set now). The set is scored by
-- the due time in Redis ms.
local function sf_timer(run_id, node, kind)
  return run_id .. '\t' .. node .. '\t' .. kind
end

-- A run's status changed at run level: it moves between the status indexes
-- (sf:{P}:ix:st:<live|failed|cancelled>, store/run_index.h).
local function sf_reindex(from, to, run_id)
  redis.call('ZREM', from, run_id)
  redis.call('ZADD', to, 0, run_id)
end

-- An ended run's retention (ms; 0 = kept for ever): the promoter deletes it
-- with its index entries when its 'expire' member of the partition's
-- retention set (sf:{P}:retention, apart from the timer set) is due
-- (expire.lua). The
-- hash's own TTL, an hour later, is the safety net when no worker runs;
-- the index entries it leaves are dropped by the run list that meets them.
local sf_expiry_grace_ms = 3600000
local function sf_retain(run, retention_set, run_id, now, retention)
  if retention > 0 then
    redis.call('ZADD', retention_set, string.format('%d', tonumber(now) + retention), sf_timer(run_id, '', 'expire'))
    redis.call('PEXPIRE', run, retention + sf_expiry_grace_ms)
  end
end

-- Child runs (ChildSpec, spawn.lua). A child run's hash names its parent
-- (`parent`: run id; `parent_node`: the token holder that waits for it,
-- "step" or "step[k]"), which lies in the same partition. That holder is
-- `waiting` with s.<holder>.child = the child's id: the live child is its
-- token. Every script that ends a run calls sf_notify_parent, which puts a
-- 'child' member for the holder, due at once, in the timer set; promote.lua
-- queues the holder again if it still waits, and its claim reads the
-- child's outcome (Worker::Impl::finish_child).
-- sf_wake_parent: the run's `parent` and `parent_node` as the caller read
-- them (false/nil for a run without a parent: nothing to do).
local function sf_wake_parent(timers, now, parent, node)
  if parent and node then redis.call('ZADD', timers, now, sf_timer(parent, node, 'child')) end
end
local function sf_notify_parent(run, timers, now)
  local p = redis.call('HMGET', run, 'parent', 'parent_node')
  sf_wake_parent(timers, now, p[1], p[2])
end

-- Ends a run whose cancel came while its step `step` was claimed, as the
-- claim ends (drop.lua's 'cancel', sleep.lua, spawn.lua): cancelled, no
-- entry, out of the live index, kept for `retention`, its parent woken.
-- The caller drops the claimed entry.
local function sf_end_cancelled(run, run_id, step, now, live, cancelled, retention_set, retention, timers)
  redis.call('HSET', run, 'status', 'cancelled', 'entry', '', 'updated_at', now, 's.' .. step .. '.status', 'cancelled')
  sf_reindex(live, cancelled, run_id)
  sf_retain(run, retention_set, run_id, now, retention)
  sf_notify_parent(run, timers, now)
end

-- Fails a live run into the dead-letter queue at `step` with `err` after
-- `attempts` (dead_letter.lua, deadline.lua): the step's error history, the
-- run and step statuses, a dead-letter entry (dlq_entry), the status indexes
-- and the failed:<workflow> counter, and tells a parent (sf_notify_parent:
-- `timers`, the partition's timer set). The caller has removed the run's token.
local function sf_fail_run(run, run_id, step, attempts, err, now, dlq, stats, live, failed, timers)
  sf_push_error(run, step, attempts, err, now, 'failed')
  redis.call('HSET', run, 'status', 'failed', 'entry', '', 'updated_at', now,
             's.' .. step .. '.status', 'failed', 's.' .. step .. '.error', err,
             's.' .. step .. '.attempts', attempts, 's.' .. step .. '.finished_at', now)
  local errors = redis.call('HGET', run, 's.' .. step .. '.errors') or '[]'
  local workflow = redis.call('HGET', run, 'workflow') or ''
  local did = redis.call('XADD', dlq, '*', 'run', run_id, 'workflow', workflow, 'step', step,
                         'attempts', attempts, 'error', err, 'errors', errors, 'at', now)
  redis.call('HSET', run, 'dlq_entry', did)
  sf_reindex(live, failed, run_id)
  redis.call('HINCRBY', stats, 'failed:' .. workflow, 1)
  sf_notify_parent(run, timers, now)
end

-- Graph runs (a workflow whose steps are not one chain: parallel branches,
-- fan-in, several roots). The run hash holds `graph`, the needs of every
-- step as JSON ({"step": ["need", ...]}); `steps` (JSON array) is the list
-- order. Every node holding a token has its own s.<node>.entry (a stream
-- entry, '' when its token is a timer) and s.<node>.base (the attempts
-- before its current token); `live` counts the nodes holding a token (an
-- entry or a timer) and the run completes when a node finishes and it
-- reaches zero. All nodes of a graph run share one queue (the run's `queue`:
-- engine::check_runnable), so one stream holds all its entries. A chain run
-- has no `graph` field and keeps its one token at run level (step, entry,
-- base), as before.

-- Map steps (MapSpec) run in graph runs. A map node's own token expands it
-- (complete.lua, 'expand'): s.<node>.n items, each JSON value kept as
-- s.<node>[k].item; s.<node>.next is the next index to start and
-- s.<node>.done the items finished; at most s.<node>.mp (max_parallel)
-- items hold a token at once, each completion starting the next. Item k is
-- a token holder named "<node>[k]" (engine/map_item.h): it has every
-- per-step field (s.<node>[k].status, .entry, .base, .attempts, .output,
-- ...), its own timers and stream entries, and counts in `live` like a node
-- (an expanded node holds no token itself). When the last item finishes,
-- the node's output, the array of the items' outputs in order, is written
-- once to s.<node>.output (the items' own outputs are then deleted) and its
-- dependents start as after any node.

-- The map node and item index a token's step names ("summarize[3]"), or nil.
local function sf_item_of(step)
  local node, k = string.match(step, '^(.+)%[(%d+)%]$')
  if node then return node, tonumber(k) end
  return nil
end

-- Every name that may hold a token in graph run `run` (g: sf_graph_of):
-- its nodes in order, an expanded map node replaced by the items it started.
local function sf_graph_holders(run, g)
  local out = {}
  for _, n in ipairs(g.order) do
    local started = redis.call('HGET', run, 's.' .. n .. '.next')
    if started then
      for k = 0, tonumber(started) - 1 do out[#out + 1] = n .. '[' .. k .. ']' end
    else
      out[#out + 1] = n
    end
  end
  return out
end

-- The timer kinds a graph node's token may be. (A signal wait without
-- timeout holds no timer: its token is its name, s.<node>.signal.)
local sf_graph_timer_kinds = {'retry', 'start', 'limiter', 'sleep', 'signal'}

-- Whether node `n` holds a token outside the stream and the timer set: a
-- signal wait with no timeout (its token is its name), or a holder waiting
-- for its child run (the child is its token: "Child runs" above; the
-- 'child' timer the child's end sets is a wake-up, not a second token).
local function sf_waits_on_name(run, n)
  local p = 's.' .. n .. '.'
  local w = redis.call('HMGET', run, p .. 'status', p .. 'signal', p .. 'wake_at', p .. 'child')
  if w[1] ~= 'waiting' then return false end
  if w[4] and w[4] ~= '' then return true end
  return w[2] ~= false and w[2] ~= '' and not w[3]
end

-- Whether the run is a graph run (HGET rather than HEXISTS: the ACL users
-- of examples/redis-acl.conf have it).
local function sf_is_graph(run)
  local g = redis.call('HGET', run, 'graph')
  return g ~= false and g ~= nil and g ~= ''
end

-- {needs = {step -> {need, ...}}, order = {step, ...}}, or nil for a chain run.
local function sf_graph_of(run)
  local f = redis.call('HMGET', run, 'graph', 'steps')
  if not f[1] or f[1] == '' then return nil end
  return {needs = cjson.decode(f[1]), order = cjson.decode(f[2])}
end

-- Whether a graph node whose status is `st` has finished (its dependents
-- may start): completed, skipped, or failed with on_failure: continue.
-- `dead`: true for the node the run failed at (its 'failed' ended the run,
-- it is not a continuation).
local function sf_status_finished(st, dead)
  return st == 'completed' or st == 'skipped' or (st == 'failed' and not dead)
end

-- sf_status_finished for node `n` of `run`, read from the hash; `dead`: the
-- node the run failed at, or nil.
local function sf_node_finished(run, n, dead)
  return sf_status_finished(redis.call('HGET', run, 's.' .. n .. '.status'), n == dead)
end

-- Ordered queues (fair dequeue and priorities; docs/architecture.md
-- "Ordered queues"). A queue declared with `fairness` or `priorities` keeps
-- the tokens of the runs submitted for it in a backlog beside its stream,
-- and workers move them into the stream (feed.lua) just before they read, at
-- most as many as they have free slots: the stream stays short, the PEL
-- stays the lease table, and the order of the backlog decides what runs
-- next. Which runs go through the backlog is the run's own `sched` field
-- (written at submit, JSON {"p": priority 0-9, "q": {queue: [key hash,
-- weight, key value (at most 128 bytes), aging ms]}}): a run without it, or
-- a queue its `sched` does not name, goes straight to the stream as before.
-- Every key below derives from the stream's own name, so it shares its hash
-- tag (its slot on a cluster); the scripts that touch them declare the stream.
--   <stream>:o          HASH  seq (last backlog ticket), n.<p> (tokens waiting at
--                             level p), v.<p> (the level's virtual time)
--   <stream>:ow         HASH  consumer -> free slots it found no work for (feed.lua)
--   <stream>:o:<p>:<k>  LIST  key k's tokens at level p, oldest first:
--                             "<ticket>\t<enqueued ms>\t<priority>\t<weight>\t<aging ms>\t<k>\t<run>\t<node>\t<attempts>"
--   <stream>:or:<p>     ZSET  keys with tokens at level p, by virtual start time
--   <stream>:oa:<p>     ZSET  the same keys, by when their head token is due to
--                             count one level higher (aging)
-- Both sets are kept lazily, to keep a move at four commands: a key whose
-- list ran dry stays in them until feed.lua next meets it (and both go
-- when the level's count reaches 0), and an `oa` score may be earlier than
-- its head's due time (feed.lua puts it right when it comes up).
-- A token in the backlog is the run's (or node's) `entry` "b:<member>" (the
-- whole member, so the doctor can find it with LPOS); its stream entry
-- carries the ticket as field `b`, and start.lua swaps in the real entry id
-- when it claims it. A backlog token is never removed in
-- place (that would be O(backlog)): cancel and the like just stop pointing
-- at it, and its claim finds it stale and drops it.
local function sf_is_ticket(entry)
  return entry ~= nil and entry ~= false and string.sub(entry, 1, 2) == 'b:'
end

-- The level a backlog token counts at `now`: its priority, plus one per
-- aging interval waited (aging 0 = never), at most 9.
local function sf_order_level(enqueued, priority, aging, now)
  if aging <= 0 then return priority end
  return math.min(9, priority + math.floor((now - enqueued) / aging))
end

-- When a token at `level` is due to count one higher (nil: never).
local function sf_order_due(enqueued, priority, aging, level)
  if aging <= 0 or level >= 9 then return nil end
  return enqueued + (level - priority + 1) * aging
end

-- The fields of a backlog member.
local function sf_order_parse(m)
  local t, enq, p, w, aging, k, run_id, node, attempts =
      string.match(m, '^(%d+)\t(%d+)\t(%d)\t([^\t]+)\t(%d+)\t([^\t]+)\t([^\t]*)\t([^\t]*)\t([^\t]*)$')
  if not t then return nil end
  return {ticket = t, enqueued = tonumber(enq), priority = tonumber(p), weight = tonumber(w),
          aging = tonumber(aging), key = k, run_id = run_id, node = node, attempts = attempts}
end

-- Whether the backlog token `entry` ("b:<member>") is still somewhere a
-- worker will get it: in its key's list at its level or any higher one
-- (aging), or fed into the stream (field `b`; the stream of an ordered queue
-- is short). Returns held, and whether a worker has the fed entry (PEL).
-- For the doctor (check_run.lua, repair.lua): O(the key's backlog).
local function sf_ticket_held(stream, group, entry)
  local m = string.sub(entry, 3)
  local t = sf_order_parse(m)
  if not t then return false, false end
  for level = t.priority, 9 do
    if redis.call('LPOS', stream .. ':o:' .. level .. ':' .. t.key, m) then return true, false end
  end
  if redis.call('EXISTS', stream) == 0 then return false, false end
  local from = '-'
  while true do
    local page = redis.call('XRANGE', stream, from, '+', 'COUNT', 1000)
    for _, e in ipairs(page) do
      local f = e[2]
      for j = 1, #f, 2 do
        if f[j] == 'b' and f[j + 1] == t.ticket then
          return true, redis.call('XPENDING', stream, group, e[1], e[1], 1)[1] ~= nil
        end
      end
    end
    if #page < 1000 then return false, false end
    from = '(' .. page[#page][1]
  end
end

-- Tokens waiting in the backlog of `stream`'s queue (o: its `:o` hash).
local function sf_order_waiting(o)
  local f = redis.call('HMGET', o, 'n.0', 'n.1', 'n.2', 'n.3', 'n.4', 'n.5', 'n.6', 'n.7', 'n.8', 'n.9')
  local total = 0
  for i = 1, 10 do total = total + tonumber(f[i] or '0') end
  return total
end

-- Appends member `m` (parsed: `t`) to key k's list at `level`; a key new to
-- the level starts at the level's virtual time.
local function sf_order_append(stream, o, level, k, m, t)
  if redis.call('RPUSH', stream .. ':o:' .. level .. ':' .. k, m) == 1 then
    local v = redis.call('HGET', o, 'v.' .. level) or '0'
    redis.call('ZADD', stream .. ':or:' .. level, v, k)
    local due = sf_order_due(t.enqueued, t.priority, t.aging, level)
    if due then redis.call('ZADD', stream .. ':oa:' .. level, due, k) end
  end
  redis.call('HINCRBY', o, 'n.' .. level, 1)
end

-- A token for `node` of run `run_id` (attempts so far `attempts`) in the
-- queue of `stream`: a stream entry, or, for a run whose `sched` names this
-- queue, a backlog member. `sched`: the run's field as the caller read it
-- (false or '' = none; nil = read it here). Returns what the run (or node)
-- keeps as its `entry`: the stream entry id, or "b:<ticket>".
local function sf_enqueue(run, run_id, stream, node, attempts, now, sched)
  if sched == nil then sched = redis.call('HGET', run, 'sched') end
  if sched and sched ~= '' then
    local queue = string.match(stream, ':q:([%w_%-]+)$')
    local s = cjson.decode(sched)
    local q = queue and s.q and s.q[queue]
    if q then
      local o = stream .. ':o'
      if sf_order_waiting(o) <= 0 then
        -- Nothing waits and a worker asked for work it did not find: the
        -- token goes straight to the stream (its blocked read wakes).
        local want = redis.call('HGETALL', stream .. ':ow')
        if #want > 0 then
          if tonumber(want[2]) <= 1 then redis.call('HDEL', stream .. ':ow', want[1])
          else redis.call('HINCRBY', stream .. ':ow', want[1], -1) end
          return redis.call('XADD', stream, '*', 'r', run_id, 's', node, 'a', attempts)
        end
      end
      local ticket = redis.call('HINCRBY', o, 'seq', 1)
      local t = {enqueued = now, priority = tonumber(s.p or 5), weight = tonumber(q[2] or 1), aging = tonumber(q[4] or 0)}
      local k = (q[1] ~= nil and q[1] ~= '') and q[1] or '-'
      local m = ticket .. '\t' .. now .. '\t' .. t.priority .. '\t' .. t.weight .. '\t' .. t.aging .. '\t' ..
                k .. '\t' .. run_id .. '\t' .. node .. '\t' .. attempts
      sf_order_append(stream, o, sf_order_level(now, t.priority, t.aging, now), k, m, t)
      return 'b:' .. m
    end
  end
  return redis.call('XADD', stream, '*', 'r', run_id, 's', node, 'a', attempts)
end

-- Gives node `n` a token in `stream` (attempts so far `base`). Returns the
-- entry (sf_enqueue). `sched`: as sf_enqueue takes it.
local function sf_node_enqueue(run, run_id, stream, n, base, now, sched)
  local nid = sf_enqueue(run, run_id, stream, n, base, now, sched)
  local p = 's.' .. n .. '.'
  redis.call('HSET', run, p .. 'status', 'queued', p .. 'entry', nid, p .. 'base', base, 'updated_at', now)
  return nid
end

-- Removes the tokens of a graph run's nodes: their timers, and their stream
-- entries that no worker holds (with `with_claimed`, the held ones too: a
-- worker renewing one then finds it lost). A node whose token went is marked
-- `cancelled` (it never ran to its end; a replay gives it a token again).
-- Returns the number of nodes (and map items: sf_graph_holders) whose entry
-- a worker still holds, and the first node that held any token (nil if none).
local function sf_graph_drop_tokens(run, run_id, g, stream, group, timers, with_claimed)
  local held, first = 0, nil
  for _, n in ipairs(sf_graph_holders(run, g)) do
    local p = 's.' .. n .. '.'
    local had = false
    for _, kind in ipairs(sf_graph_timer_kinds) do
      if redis.call('ZREM', timers, sf_timer(run_id, n, kind)) == 1 then had = true end
    end
    if sf_waits_on_name(run, n) then had = true end
    redis.call('ZREM', timers, sf_timer(run_id, n, 'child'))
    local entry = redis.call('HGET', run, p .. 'entry')
    if sf_is_ticket(entry) then
      -- still in the backlog (or fed, not yet claimed): its claim drops it
      had = true
      redis.call('HSET', run, p .. 'entry', '', p .. 'status', 'cancelled')
    elseif entry and entry ~= '' then
      had = true
      local claimed = redis.call('XPENDING', stream, group, entry, entry, 1)[1] ~= nil
      if claimed and not with_claimed then
        held = held + 1
      else
        -- (an unclaimed entry needs no XACK: cancel.lua runs as the API's
        -- user, which has none)
        if claimed then sf_drop_entry(stream, group, entry) else redis.call('XDEL', stream, entry) end
        redis.call('HSET', run, p .. 'entry', '', p .. 'status', 'cancelled')
      end
    elseif had then
      redis.call('HSET', run, p .. 'status', 'cancelled')
    end
    if had and not first then first = sf_item_of(n) or n end
  end
  return held, first
end

-- Writes a new run (submit.lua, schedule_tick.lua): its hash and the token of
-- its first step, a stream entry or, when it starts later (start > now), a
-- 'start' member of the timer set (status 'scheduled'). r: run (key), run_id,
-- workflow, step, queue, steps (JSON), input (JSON), metadata (JSON, '' =
-- none), start (Unix ms, 0 = now), stream, timers, now, deadline (ms after
-- the start, 0 = none: a 'deadline' member of `deadlines`, the partition's
-- deadline set, deadline.lua), graph (the needs JSON of a graph run, '' =
-- a chain: see "Graph runs" above; then `step` is ignored and every root
-- gets a token), sched (the run's ordering, '' = none: "Ordered queues" above).
-- The caller adds the run to the indexes and counts it. Returns whether it
-- was queued at once.
local function sf_create_run(r)
  local run = r.run
  if r.graph and r.graph ~= '' then
    -- A graph run: a token per root, all in the run's one queue.
    local needs, roots = cjson.decode(r.graph), {}
    for _, n in ipairs(cjson.decode(r.steps)) do
      if #needs[n] == 0 then roots[#roots + 1] = n end
    end
    redis.call('HSET', run, 'workflow', r.workflow, 'status', r.start > r.now and 'scheduled' or 'queued',
               'input', r.input, 'created_at', r.now, 'updated_at', r.now, 'step', roots[1], 'queue', r.queue,
               'entry', '', 'base', '0', 'steps', r.steps, 'graph', r.graph, 'live', #roots)
    if r.sched and r.sched ~= '' then redis.call('HSET', run, 'sched', r.sched) end
    if r.start > 0 then redis.call('HSET', run, 'run_at', r.start) end
    for _, n in ipairs(roots) do
      if r.start > r.now then
        redis.call('ZADD', r.timers, r.start, sf_timer(r.run_id, n, 'start'))
        redis.call('HSET', run, 's.' .. n .. '.status', 'waiting', 's.' .. n .. '.entry', '', 's.' .. n .. '.base', '0')
      else
        sf_node_enqueue(run, r.run_id, r.stream, n, '0', r.now, r.sched or false)
      end
    end
  elseif r.start > r.now then
    redis.call('ZADD', r.timers, r.start, sf_timer(r.run_id, r.step, 'start'))
    redis.call('HSET', run, 'workflow', r.workflow, 'status', 'scheduled', 'input', r.input,
               'created_at', r.now, 'updated_at', r.now, 'step', r.step, 'queue', r.queue, 'run_at', r.start,
               'entry', '', 'base', '0', 'steps', r.steps, 's.' .. r.step .. '.status', 'waiting')
  else
    local id = sf_enqueue(run, r.run_id, r.stream, r.step, '0', r.now, r.sched or false)
    redis.call('HSET', run, 'workflow', r.workflow, 'status', 'queued', 'input', r.input,
               'created_at', r.now, 'updated_at', r.now, 'step', r.step, 'queue', r.queue,
               'entry', id, 'base', '0', 'steps', r.steps, 's.' .. r.step .. '.status', 'queued')
    if r.start > 0 then redis.call('HSET', run, 'run_at', r.start) end
  end
  if r.metadata ~= '' then redis.call('HSET', run, 'metadata', r.metadata) end
  if r.sched and r.sched ~= '' and (not r.graph or r.graph == '') then redis.call('HSET', run, 'sched', r.sched) end
  if r.deadline and r.deadline > 0 then
    local at = math.max(r.start, r.now) + r.deadline
    redis.call('ZADD', r.deadlines, at, sf_timer(r.run_id, '', 'deadline'))
    redis.call('HSET', run, 'deadline_at', at)
  end
  return r.start <= r.now
end

-- A keyed limiter instance's bounds with its runtime override (PUT
-- /v1/limiters/{name}/overrides/{key}, a JSON object in the limiter's
-- overrides hash under the key's value) laid over the ones the caller sent.
-- b: {rpm=, burst=, tpm=, capacity=, conc=}; changed in place. A token_burst
-- of 0, or a tokens_per_minute override without one, makes the bucket a
-- tenth of a minute's tokens, as for a declared limiter.
local function sf_limit_override(overrides, key, b)
  if overrides == '' or key == '' then return end
  local raw = redis.call('HGET', overrides, key)
  if not raw then return end
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok or type(decoded) ~= 'table' then return end  -- written by hand, unreadable: the declared bounds hold
  -- Only whole numbers >= 1 count (as the API writes them); anything else is left out.
  local o = {}
  for _, f in ipairs({'requests_per_minute', 'burst', 'tokens_per_minute', 'token_burst', 'concurrency'}) do
    local v = decoded[f]
    if type(v) == 'number' and v >= 1 then o[f] = math.floor(v) end
  end
  if o.requests_per_minute then b.rpm = o.requests_per_minute end
  if o.burst then b.burst = o.burst end
  if o.concurrency then b.conc = o.concurrency end
  if o.tokens_per_minute or o.token_burst then
    if o.tokens_per_minute then b.tpm = o.tokens_per_minute end
    if o.token_burst then b.capacity = o.token_burst
    else b.capacity = math.max(1, math.floor(b.tpm / 10)) end
  end
end

-- Claims (start.lua, claim.lua).
-- What the claim of item `step` of map node `node` returns instead of the
-- whole run hash (which holds every item: reading it per item would cost
-- O(items) each): the run's own fields a worker reads, the item's, and the
-- outputs of the node's ancestors (its needs, transitively), as
-- HGETALL-shaped pairs. What does not change while the node runs (the
-- run's workflow, graph, input, its ancestors' outputs) is read once per
-- run and node in this batch.
-- `unchanging`: the caller's table for one script call (run key .. '\t' ..
-- node -> HGETALL-shaped pairs).
local function sf_item_fields(run, step, node, unchanging)
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


-- The claim of entry `id` of `stream` — step `step` of the run hash `run`,
-- delivered `deliveries` times to `consumer`, `ticket` its backlog ticket
-- ('' = none) — once the caller knows the entry is the consumer's: marks the
-- step running unless the run has ended or is being cancelled. Returns the
-- state ('ok'; 'missing': the run hash is gone; 'stale': a backlog token the
-- run no longer points at — both drop the entry) and, for 'ok', the hash as
-- read before the write (HGETALL-shaped; a map item's: sf_item_fields).
local function sf_claim_item(stream, group, consumer, run, id, step, deliveries, ticket, now, unchanging)
  local node = sf_item_of(step)
  local h = node and sf_item_fields(run, step, node, unchanging) or redis.call('HGETALL', run)
  if #h == 0 then
    sf_drop_entry(stream, group, id)
    return 'missing', h
  end
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
    return 'stale', {}
  end
  if not sf_terminal[status] and cancel ~= '1' then
    redis.call('HSET', run, 'status', 'running', 'updated_at', now,
               's.' .. step .. '.status', 'running',
               's.' .. step .. '.attempts', tonumber(base or 0) + deliveries,
               's.' .. step .. '.started_at', now,
               's.' .. step .. '.worker', consumer,
               entry_field, swap and id or (entry or ''))
  end
  return 'ok', h
end
