-- Moves due runs from the delayed set back to their queue (the same step, with
-- the attempts so far), oldest first. Keys of the runs are derived from the
-- partition prefix; they share the partition's hash tag, so the script stays in
-- one slot.
-- KEYS[1] delayed zset
-- ARGV: partition prefix (e.g. "sf:{0}:"), max items
-- Returns {moved, ms until the next due run or -1 if none}.
local delayed, base, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local now = sf_now()
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
for _, run_id in ipairs(due) do
  local run = base .. 'run:' .. run_id
  local f = redis.call('HMGET', run, 'status', 'step', 'queue', 'base')
  if f[1] == 'retrying' then
    local nid = redis.call('XADD', base .. 'q:' .. f[3], '*', 'r', run_id, 's', f[2], 'a', f[4] or '0')
    redis.call('HSET', run, 'status', 'queued', 'entry', nid, 'updated_at', now,
               's.' .. f[2] .. '.status', 'queued')
    redis.call('HDEL', run, 'due_at')
  end
  redis.call('ZREM', delayed, run_id)
end
local nxt = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
local wait = -1
if nxt[2] then wait = math.max(0, tonumber(nxt[2]) - now) end
return {#due, wait}
