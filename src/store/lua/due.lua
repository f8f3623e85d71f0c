#!lua flags=no-writes
-- The first phase of promotion: which timers are due (Redis time), so the
-- caller can name every key their promotion touches (promote.lua).
-- KEYS[1] timer set, KEYS[2] schema 1's delayed set (members: run ids)
-- ARGV: max members
-- Returns {{timer members due}, {legacy members due}, ms until the next due
-- member of either set after these, or -1 if none}.
local timers, legacy, limit = KEYS[1], KEYS[2], tonumber(ARGV[1])
local now = sf_now()
local due = redis.call('ZRANGEBYSCORE', timers, '-inf', now, 'LIMIT', 0, limit)
local old = redis.call('ZRANGEBYSCORE', legacy, '-inf', now, 'LIMIT', 0, limit)
local wait = -1
for _, key in ipairs({timers, legacy}) do
  local skip = (key == timers) and #due or #old
  local nxt = redis.call('ZRANGE', key, skip, skip, 'WITHSCORES')
  if nxt[2] then
    local w = math.max(0, tonumber(nxt[2]) - now)
    if wait < 0 or w < wait then wait = w end
  end
end
return {due, old, wait}
