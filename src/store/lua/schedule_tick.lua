#!lua
-- Fires a cron schedule's due ticks: creates one run per tick and moves the
-- schedule's `last` (the instant up to which its ticks were dealt with) in the
-- same call, in the schedule's partition, so however many schedulers race for
-- a tick exactly one run is made for it: the others' `expected last` no
-- longer matches and they write nothing. The runs live in the schedule's
-- partition (their ids are chosen so), beside its state.
-- KEYS[1] the schedule's state hash, KEYS[2] the first step's queue stream,
-- KEYS[3] partition stats, KEYS[4] timer set, KEYS[5] index of every run,
-- KEYS[6] the workflow's index, KEYS[7] status index 'live', KEYS[8] the
-- metadata index schedule=<name>, KEYS[9] the previous tick's run hash (the
-- state hash again when there is none), KEYS[10] the partition's deadline
-- set; then per run: its hash, its metadata index tick=<tick>
-- ARGV[1] mode: 'tick' (the due ticks; fenced by the expected last), 'init'
--   (a schedule seen for the first time: last = ARGV[3], nothing fires) or
--   'trigger' (an operator's extra run: last unchanged, paused or not);
-- ARGV[2] expected last (Unix ms as stored; '' = no state yet), ARGV[3] the
-- new last (Unix ms), ARGV[4] the expected previous run id ('' = none),
-- ARGV[5] overlap ('allow', 'skip', 'cancel_previous': the caller cancelled
-- the previous run first), ARGV[6] workflow, ARGV[7] first step, ARGV[8] its
-- queue, ARGV[9] step names (JSON array), ARGV[10] input (JSON), ARGV[11]
-- schedule name, ARGV[12] the workflow's deadline (ms; 0 = none), ARGV[13]
-- the graph of a workflow that is not a chain ('' = a chain; lib.lua's
-- "Graph runs"), ARGV[14] the runs' place on ordered queues ('' = none:
-- lib.lua's "Ordered queues"); then per
-- run 3 values: run id, tick (Unix ms), metadata (JSON).
-- Returns {'fired', run ids...}, {'initialized'}, {'skipped'} (overlap skip:
-- the previous run is live; last moves on), {'paused'} (tick mode only:
-- nothing written), or {'stale'}: the state is not the one the caller read
-- (another scheduler fired these ticks, or an operator acted): nothing written.
local state, stream, stats, timers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ix_all, ix_wf, live, ix_schedule, previous = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local deadlines = KEYS[10]
local mode, expected_last, new_last, expected_previous = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local overlap, workflow, step, queue, steps, input = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local name, deadline, graph, sched = ARGV[11], tonumber(ARGV[12]), ARGV[13], ARGV[14]

local s = redis.call('HMGET', state, 'last', 'last_run', 'paused')
local last, last_run, paused = s[1] or '', s[2] or '', s[3] == '1'
if last_run ~= expected_previous then return {'stale'} end
if mode ~= 'trigger' and last ~= expected_last then return {'stale'} end
local now = sf_now()
if mode == 'init' then
  redis.call('HSET', state, 'name', name, 'last', new_last, 'created_at', now)
  return {'initialized'}
end
if mode == 'tick' and paused then return {'paused'} end

-- (Only when a run would start: a call that just moves past missed ticks skips nothing.)
if overlap == 'skip' and #ARGV >= 15 and last_run ~= '' and not sf_gone_or_terminal(previous) then
  if mode == 'tick' then redis.call('HSET', state, 'last', new_last) end
  redis.call('HINCRBY', state, 'overlap_skipped', 1)
  return {'skipped'}
end

-- Fresh ULIDs never collide; checked before anything is written all the same.
for a = 15, #ARGV, 3 do
  if redis.call('EXISTS', KEYS[11 + (a - 15) / 3 * 2]) == 1 then return redis.error_reply('EXISTS run ' .. ARGV[a]) end
end
local out = {'fired'}
local newest_run, newest_tick = nil, nil
for a = 15, #ARGV, 3 do
  local k = 11 + (a - 15) / 3 * 2
  local run_id, tick, metadata = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  sf_create_run({run = KEYS[k], run_id = run_id, workflow = workflow, step = step, queue = queue, steps = steps,
                 input = input, metadata = metadata, start = 0, stream = stream, timers = timers, now = now,
                 deadline = deadline, deadlines = deadlines, graph = graph, sched = sched})
  for _, key in ipairs({ix_all, ix_wf, live, ix_schedule, KEYS[k + 1]}) do redis.call('ZADD', key, 0, run_id) end
  newest_run, newest_tick = run_id, tick
  out[#out + 1] = run_id
end
if newest_run then
  redis.call('HINCRBY', stats, 'submitted:' .. workflow, #out - 1)
  redis.call('HSET', state, 'last_run', newest_run)
  if mode == 'trigger' then
    redis.call('HSET', state, 'last_trigger', newest_tick)
    redis.call('HINCRBY', state, 'triggered', 1)
  else
    redis.call('HSET', state, 'last_tick', newest_tick)
    redis.call('HINCRBY', state, 'fired', #out - 1)
  end
end
if mode == 'tick' then redis.call('HSET', state, 'last', new_last) end
return out
