#!lua flags=no-writes
-- The first phase of promotion: which timers are due (Redis time), so the
-- caller can name every key their promotion touches (promote.lua, expire.lua).
-- KEYS[1] timer set, KEYS[2] schema 1's delayed set (members: run ids),
-- KEYS[3] retention set (members "<run>\t\texpire"), KEYS[4] deadline set
-- (members "<run>\t\tdeadline")
-- ARGV: max members per set
-- Returns {{timer members due}, {legacy members due}, ms until the next due
-- member of any set after these, or -1 if none, {retention members due},
-- {deadline members due}}.
local limit = tonumber(ARGV[1])
local now = sf_now()
local due = {}
local wait = -1
for i = 1, 4 do
  due[i] = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', now, 'LIMIT', 0, limit)
  local nxt = redis.call('ZRANGE', KEYS[i], #due[i], #due[i], 'WITHSCORES')
  if nxt[2] then
    local w = math.max(0, tonumber(nxt[2]) - now)
    if wait < 0 or w < wait then wait = w end
  end
end
return {due[1], due[2], wait, due[3], due[4]}
