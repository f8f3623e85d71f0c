#!lua flags=allow-oom
-- Purges a batch of dead-letter entries of one partition, with their failed
-- runs and the runs' index entries, re-checking each here: the entry still
-- exists and names the run, the run (if its hash is left) is still failed and
-- still points at this entry (a replay in between makes it live: then nothing
-- is deleted), and the run matches the filter. allow-oom: it only deletes.
-- KEYS[1] dead-letter stream; then per item: run hash (any key of the
--   partition when the entry names no run), then the run's index keys as the
--   caller read them (store/run_index.h)
-- ARGV: workflow ('' = any), created_after ms ('' = unbounded), created_before
--   ms ('' = unbounded), both exclusive, metadata pairs that must match (JSON
--   object, '' = any); then per item 3 values: entry id, run id ('' = none),
--   number of index keys
-- Returns the number of entries purged.
local dlq = KEYS[1]
local workflow, after, before = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local want_meta = nil
if ARGV[4] ~= '' then want_meta = cjson.decode(ARGV[4]) end
local purged = 0
local k = 2
for a = 5, #ARGV, 3 do
  local did, run_id, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local run = KEYS[k]
  local first_index = k + 1
  k = k + 1 + n
  local e = redis.call('XRANGE', dlq, did, did)[1]
  if e then
    local named, entry_workflow = '', ''
    for j = 1, #e[2], 2 do
      if e[2][j] == 'run' then named = e[2][j + 1] end
      if e[2][j] == 'workflow' then entry_workflow = e[2][j + 1] end
    end
    local ok = named == run_id
    local created = nil
    local meta = {}
    local has_run = run_id ~= '' and redis.call('EXISTS', run) == 1
    if ok and has_run then
      local f = redis.call('HMGET', run, 'status', 'dlq_entry', 'workflow', 'created_at', 'metadata')
      ok = f[1] == 'failed' and f[2] == did
      entry_workflow = f[3] or entry_workflow
      created = tonumber(f[4])
      if f[5] then meta = cjson.decode(f[5]) end
    end
    if ok and workflow ~= '' and entry_workflow ~= workflow then ok = false end
    -- A time bound needs the creation time: an entry without its run never matches one.
    if ok and after and not (created and created > after) then ok = false end
    if ok and before and not (created and created < before) then ok = false end
    if ok and want_meta then
      for mk, mv in pairs(want_meta) do
        if meta[mk] ~= mv then ok = false end
      end
    end
    if ok then
      if has_run then
        redis.call('DEL', run)
        for j = first_index, first_index + n - 1 do redis.call('ZREM', KEYS[j], run_id) end
      end
      redis.call('XDEL', dlq, did)
      purged = purged + 1
    end
  end
end
return purged
