#!lua flags=allow-oom
-- Ends the retention of ended runs: the promoter found their 'expire' members
-- due (due.lua) and read each run's workflow, metadata and status, so every
-- index key is declared. Each member is checked again here (still in the set,
-- still due, the run still ended with the status the caller read); then the
-- run hash, its index entries and the timer go together. allow-oom: it only
-- deletes.
-- KEYS[1] retention set, KEYS[2] timer set (where schema 3 before the
-- retention set kept these members; a member is removed from both), KEYS[3]
-- deadline set (a deadline that never came goes with the run); then per
-- member: run hash, then its index keys
-- ARGV: per member 4 values: member, run id, status as read ('' = the hash
--   was gone), number of index keys
-- Returns the number of runs deleted.
local retention_set, timers, deadlines = KEYS[1], KEYS[2], KEYS[3]
local now = sf_now()
local deleted = 0
local k = 4
for a = 1, #ARGV, 4 do
  local member, run_id, status, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local run = KEYS[k]
  local first_index = k + 1
  k = k + 1 + n
  local score = redis.call('ZSCORE', retention_set, member) or redis.call('ZSCORE', timers, member)
  local function forget() redis.call('ZREM', retention_set, member); redis.call('ZREM', timers, member) end
  if score and tonumber(score) <= now then
    local current = redis.call('HGET', run, 'status') or ''
    if current == status and (status == '' or sf_terminal[status]) then
      if status ~= '' then deleted = deleted + redis.call('DEL', run) end
      for j = first_index, first_index + n - 1 do redis.call('ZREM', KEYS[j], run_id) end
      -- a deadline that never came (kept in the timer set by older versions)
      redis.call('ZREM', deadlines, sf_timer(run_id, '', 'deadline'))
      redis.call('ZREM', timers, sf_timer(run_id, '', 'deadline'))
      forget()
    elseif current ~= '' and not sf_terminal[current] then
      forget()  -- live again: it has no retention now
    end
  end
end
return deleted
