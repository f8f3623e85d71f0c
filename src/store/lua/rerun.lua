#!lua
-- Reruns a run from a step as a new run (POST /v1/runs/{id}/rerun): the new
-- run is of the same workflow, with the source's input (or an edited one) and
-- metadata, the fields of every kept step (status, output, attempts, times,
-- worker, history) copied byte for byte, and the token of the first step to
-- run again; that step and every later one have no field but the first's
-- status (a graph run's: its node token, lib.lua's "Graph runs"; the kept
-- steps are every one that does not need the rerun step, engine::plan_rerun).
-- The source run is only read. Its own script, so submit.lua's hot
-- path stays as it is.
-- KEYS[1] source run hash, KEYS[2] new run hash (same partition: the caller
-- draws the new id there), KEYS[3] the rerun step's queue stream, KEYS[4]
-- partition stats hash, then the new run's indexes (store/run_index.h: every
-- run, its workflow, 'live', one per metadata pair of the source)
-- ARGV: source run id, new run id, rerun step, its queue, input JSON ('' =
--       the source's), kept steps (JSON array, in order), number of index
--       keys, the new run's `sched` (lib.lua's "Ordered queues": that of an
--       edited input; '-' = the source's)
-- Returns {1, new run id}; {0, 'missing'} when the source run does not exist;
-- {2, step, status} when a kept step has not finished in the source (status
-- 'pending' when it never started). Nothing is written unless 1.
local source, run, stream, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local source_id, run_id, step, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local input, n_index = ARGV[5], tonumber(ARGV[7])
local kept = cjson.decode(ARGV[6])

if redis.call('EXISTS', source) == 0 then return {0, 'missing'} end
if redis.call('EXISTS', run) == 1 then
  return redis.error_reply('ERR run ' .. run_id .. ' already exists')
end
local is_kept = {}
for _, name in ipairs(kept) do
  local status = redis.call('HGET', source, 's.' .. name .. '.status')
  if status ~= 'completed' and status ~= 'skipped' then return {2, name, status or 'pending'} end
  is_kept[name] = true
end

local src = redis.call('HGETALL', source)
local fields = {}
local workflow, steps, metadata, source_input, graph, sched = '', '', '', '', '', ''
for i = 1, #src, 2 do
  local f, v = src[i], src[i + 1]
  if f == 'workflow' then workflow = v
  elseif f == 'steps' then steps = v
  elseif f == 'metadata' then metadata = v
  elseif f == 'input' then source_input = v
  elseif f == 'graph' then graph = v
  elseif f == 'sched' then sched = v
  else
    -- Step names are [A-Za-z0-9_-] (no dot): "s.<step>.<field>".
    local name = string.match(f, '^s%.([^.]+)%.')
    if name and is_kept[name] then
      fields[#fields + 1] = f
      fields[#fields + 1] = v
    end
  end
end
if input == '' then input = source_input end
if ARGV[8] and ARGV[8] ~= '-' then sched = ARGV[8] end

local now = sf_now()
local id = sf_enqueue(run, run_id, stream, step, '0', now, sched)
redis.call('HSET', run, 'workflow', workflow, 'status', 'queued', 'input', input,
           'created_at', now, 'updated_at', now, 'step', step, 'queue', queue,
           'entry', id, 'base', '0', 'steps', steps, 's.' .. step .. '.status', 'queued',
           'rerun_of', source_id, 'rerun_from', step)
if metadata ~= '' then redis.call('HSET', run, 'metadata', metadata) end
if sched ~= '' then redis.call('HSET', run, 'sched', sched) end
if graph ~= '' then
  -- A graph run (lib.lua's "Graph runs"): the token is the node's. The
  -- other steps run again need the rerun step, so they start after it.
  redis.call('HSET', run, 'graph', graph, 'live', 1, 'entry', '', 's.' .. step .. '.entry', id,
             's.' .. step .. '.base', '0')
end
for i = 1, #fields, 1000 do
  redis.call('HSET', run, unpack(fields, i, math.min(i + 999, #fields)))
end
for i = 5, 4 + n_index do redis.call('ZADD', KEYS[i], 0, run_id) end
redis.call('HINCRBY', stats, 'submitted:' .. workflow, 1)
return {1, run_id}
