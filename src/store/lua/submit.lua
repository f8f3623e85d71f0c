#!lua
-- Creates runs of one workflow in one partition, each with the token of its
-- first step: a stream entry, or, for a run that starts later (a delay or
-- run_at), a 'start' member of the timer set (status 'scheduled', no entry in
-- any queue until the promoter moves it). One call per batch of runs (a single
-- submit is a batch of one): each run is checked on its own and written whole
-- or not at all; the index ZADDs and the submitted counter are shared.
-- KEYS[1] first step's queue stream, KEYS[2] partition stats hash, KEYS[3] the
-- partition's timer set, KEYS[4] index of every run, KEYS[5] the workflow's
-- index, KEYS[6] status index 'live', KEYS[7] the partition's deadline set;
-- then per run: its hash, its idempotency
-- key ("<run id>\t<fingerprint>"; the run hash again when it has none), one
-- index key per metadata pair
-- ARGV: workflow, first step, queue, idempotency TTL ms, max backlog of the
--       queue (0 = unbounded), step names (JSON array, in order), the furthest
--       ahead a run may start (ms), how far in the past a run_at may lie (ms),
--       the workflow's deadline (ms after the run starts; 0 = none), the
--       graph (the needs of every step, JSON, for a workflow that is not a
--       chain; '' = a chain: lib.lua's "Graph runs");
--       then per run 9 values: run id, input (JSON), fingerprint of the request
--       (what a repeat must match), metadata (JSON object, '' = none), has an
--       idempotency key ('1'/'0'), number of metadata index keys, delay ms (0 =
--       none), run_at Unix ms (0 = none; at most one of the two is set), the
--       run's place on ordered queues ('' = none: lib.lua's "Ordered queues")
-- Returns per run: {1, run_id, run_at} when created (run_at 0: queued at once),
-- {0, existing_run_id} for a repeated idempotency key with the same
-- fingerprint, {2, existing_run_id} for one with a different fingerprint,
-- {3, 'BACKLOG ...'} when the queue is over its bound, {4, 'RUN_AT ...'} for a
-- run_at too far in the past or the future (by Redis time), {5, 'EXISTS'} for
-- a run id already taken.
local stream, stats, timers, ix_all, ix_wf, live = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local deadlines = KEYS[7]
local workflow, step, queue, idem_ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local max_backlog, steps, max_ahead, past_grace = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local deadline, graph = tonumber(ARGV[9]), ARGV[10]
local now = sf_now()
local backlog = -1  -- XLEN once, when a bound is set and a run is queued at once
local created = {}
local out = {}
local k, a = 8, 10
while a < #ARGV do
  local run_id, input, fingerprint, metadata = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local has_idem, n_meta = ARGV[a + 5] == '1', tonumber(ARGV[a + 6])
  local delay, run_at, sched = tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8]), ARGV[a + 9]
  local run, idem = KEYS[k], KEYS[k + 1]
  local meta_keys = {unpack(KEYS, k + 2, k + 1 + n_meta)}
  a, k = a + 9, k + 2 + n_meta

  local answer = nil
  if has_idem then
    local existing = redis.call('GET', idem)
    if existing then
      local tab = string.find(existing, '\t', 1, true)
      local first_run, first_fingerprint = existing, ''
      if tab then first_run, first_fingerprint = string.sub(existing, 1, tab - 1), string.sub(existing, tab + 1) end
      if first_fingerprint == fingerprint then answer = {0, first_run} else answer = {2, first_run} end
    end
  end
  local start = 0
  if not answer then
    if run_at > 0 then
      if run_at < now - past_grace then
        answer = {4, 'RUN_AT run_at is ' .. (now - run_at) .. ' ms before the current Redis time'}
      elseif run_at > now + max_ahead then
        answer = {4, 'RUN_AT run_at is more than ' .. math.floor(max_ahead / 86400000) ..
                     ' days after the current Redis time'}
      end
      start = run_at
    elseif delay > 0 then
      start = now + delay
    end
  end
  local scheduled = start > now
  if not answer and not scheduled and max_backlog > 0 then
    if backlog < 0 then
      -- the stream, and an ordered queue's backlog (lib.lua's "Ordered queues")
      backlog = redis.call('XLEN', stream) + sf_order_waiting(stream .. ':o')
    end
    if backlog >= max_backlog then
      answer = {3, 'BACKLOG queue ' .. queue .. ' holds ' .. max_backlog .. ' or more entries; try again later'}
    end
  end
  if not answer and redis.call('EXISTS', run) == 1 then answer = {5, 'EXISTS'} end
  if not answer then
    sf_create_run({run = run, run_id = run_id, workflow = workflow, step = step, queue = queue, steps = steps,
                   input = input, metadata = metadata, start = start, stream = stream, timers = timers, now = now,
                   deadline = deadline, deadlines = deadlines, graph = graph, sched = sched})
    if not scheduled and backlog >= 0 then backlog = backlog + 1 end
    for _, key in ipairs(meta_keys) do redis.call('ZADD', key, 0, run_id) end
    if has_idem then redis.call('SET', idem, run_id .. '\t' .. fingerprint, 'PX', idem_ttl) end
    created[#created + 1] = run_id
    if scheduled then answer = {1, run_id, start} else answer = {1, run_id, 0} end
  end
  out[#out + 1] = answer
end
if #created > 0 then
  for _, key in ipairs({ix_all, ix_wf, live}) do
    for first = 1, #created, 1000 do
      local args = {}
      for i = first, math.min(first + 999, #created) do
        args[#args + 1] = 0
        args[#args + 1] = created[i]
      end
      redis.call('ZADD', key, unpack(args))
    end
  end
  redis.call('HINCRBY', stats, 'submitted:' .. workflow, #created)
end
return out
