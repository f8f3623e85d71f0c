#!lua flags=allow-oom
-- Purges a batch of dead-letter entries of one partition, with their failed
-- runs, re-checking each here: the entry still exists and names the run, the
-- run (if its hash is left) is still failed and still points at this entry
-- (a replay in between makes it live: then nothing is deleted), and the run
-- matches the filter. allow-oom: it only deletes.
-- KEYS[1] dead-letter stream; then per item: run hash (any key of the
--   partition when the entry names no run)
-- ARGV: workflow ('' = any), created_after ms ('' = unbounded), created_before
--   ms ('' = unbounded), both exclusive; then per item 2 values: entry id, run id ('' = none)
-- Returns the number of entries purged.
local dlq = KEYS[1]
local workflow, after, before = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local purged = 0
for i = 1, (#ARGV - 3) / 2 do
  local did, run_id, run = ARGV[2 + 2 * i], ARGV[3 + 2 * i], KEYS[1 + i]
  local e = redis.call('XRANGE', dlq, did, did)[1]
  if e then
    local named, entry_workflow = '', ''
    for k = 1, #e[2], 2 do
      if e[2][k] == 'run' then named = e[2][k + 1] end
      if e[2][k] == 'workflow' then entry_workflow = e[2][k + 1] end
    end
    local ok = named == run_id
    local created = nil
    local has_run = run_id ~= '' and redis.call('EXISTS', run) == 1
    if ok and has_run then
      local f = redis.call('HMGET', run, 'status', 'dlq_entry', 'workflow', 'created_at')
      ok = f[1] == 'failed' and f[2] == did
      entry_workflow = f[3] or entry_workflow
      created = tonumber(f[4])
    end
    if ok and workflow ~= '' and entry_workflow ~= workflow then ok = false end
    -- A time bound needs the creation time: an entry without its run never matches one.
    if ok and after and not (created and created > after) then ok = false end
    if ok and before and not (created and created < before) then ok = false end
    if ok then
      if has_run then redis.call('DEL', run) end
      redis.call('XDEL', dlq, did)
      purged = purged + 1
    end
  end
end
return purged
