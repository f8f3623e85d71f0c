#!lua
-- Moves tokens of an ordered queue's backlog into its stream (lib.lua's
-- "Ordered queues"), called by a worker just before it reads the stream, for
-- as many tokens as it has free slots: so the stream never holds much more
-- than the fleet can take, and what it takes next is decided here.
-- Order: the highest level first (a run's priority, one higher per aging
-- interval its token waited); within a level, start-time fair queuing over
-- the keys (fairness values) with tokens: each key is scored by the virtual
-- start time of its head token, the lowest goes first, and the key's next
-- token starts 1/weight later; a key that had no tokens starts at the
-- level's current virtual time. So every key with work gets its weight's
-- share, a key's own backlog length costs nothing, and one move is O(log
-- keys): per key's turn ZPOPMIN, LPOP of up to `quantum` tokens, an XADD
-- each and a ZADD (the key back at its next start time). Before
-- moving, up to 64 head tokens whose aging is due move up to the level they
-- now count at (only heads: a key's tokens leave in order).
-- When the backlog runs dry before the free slots are filled, the rest is
-- noted under the consumer (`<stream>:ow`): new tokens then go straight to
-- the stream (sf_enqueue), so a blocked read wakes for them. A worker that
-- stops noting (busy, stopped) leaves its note until its next feed or the
-- hash's expiry (`ttl`): at most that many tokens skip the backlog.
-- KEYS[1] the queue's stream (every backlog key derives from it)
-- ARGV: consumer, free slots (0 = only age and clear the note), ttl ms of the
--       consumer's note
-- Returns {tokens moved, tokens still waiting}.
local stream = KEYS[1]
local consumer, free, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local o, ow = stream .. ':o', stream .. ':ow'
local now = sf_now()

local fields = {}
for p = 0, 9 do
  fields[#fields + 1] = 'n.' .. p
  fields[#fields + 1] = 'v.' .. p
end
local f = redis.call('HMGET', o, unpack(fields))
local total = 0
local n, v = {}, {}
for p = 0, 9 do
  n[p] = tonumber(f[1 + 2 * p] or '0')
  v[p] = f[2 + 2 * p] or '0'
  total = total + n[p]
end
local changed = {}  -- levels whose n or v changed

local function list(p, k) return stream .. ':o:' .. p .. ':' .. k end
-- A backlog member's ticket, weight, run, node and attempts (sf_order_parse's layout).
local kMember = '^(%d+)\t%d+\t%d\t([^\t]+)\t%d+\t[^\t]+\t([^\t]*)\t([^\t]*)\t([^\t]*)$'

-- Aging: head tokens due to count higher move up. A key's `oa` score may be
-- early (lazy: lib.lua's "Ordered queues"); then it is put right here.
if total > 0 then
  local budget = 64
  for p = 0, 8 do
    while budget > 0 and n[p] > 0 do
      local due = redis.call('ZRANGE', stream .. ':oa:' .. p, 0, 0, 'WITHSCORES')
      if #due == 0 or tonumber(due[2]) > now then break end
      budget = budget - 1
      local k = due[1]
      local head = redis.call('LINDEX', list(p, k), 0)
      local t = head and sf_order_parse(head)
      local real = t and sf_order_due(t.enqueued, t.priority, t.aging, p)
      if not real then
        redis.call('ZREM', stream .. ':oa:' .. p, k)  -- ran dry, or never ages
      elseif real > now then
        redis.call('ZADD', stream .. ':oa:' .. p, real, k)
      else
        redis.call('LPOP', list(p, k))
        local to = math.max(p + 1, sf_order_level(t.enqueued, t.priority, t.aging, now))
        n[p], n[to] = n[p] - 1, n[to] + 1
        changed[p], changed[to] = true, true
        -- sf_order_append, with the counts kept here
        if redis.call('RPUSH', list(to, k), head) == 1 then
          redis.call('ZADD', stream .. ':or:' .. to, v[to], k)
          local d = sf_order_due(t.enqueued, t.priority, t.aging, to)
          if d then redis.call('ZADD', stream .. ':oa:' .. to, d, k) end
        end
        -- (the key keeps its place among the level's keys; its next head's
        -- `oa` score is put right when it comes up)
      end
    end
  end
end

-- The moves. A key's turn moves up to `quantum` of its tokens at once: a
-- feed for few slots moves one at a time, exactly the fair order; a big
-- feed (64 slots: 8) spends fewer set operations per token. Shares are
-- unchanged: the key's next start is later by tokens / weight.
local quantum = math.min(8, math.max(1, math.floor(free / 8)))
local moved = 0
local p = 9
while moved < free and total > 0 and p >= 0 do
  if n[p] <= 0 then
    p = p - 1
  else
    local top = redis.call('ZPOPMIN', stream .. ':or:' .. p)
    if #top == 0 then
      -- the count said more than the lists hold (a list lost by hand):
      -- believe the lists
      total = total - n[p]
      n[p], changed[p] = 0, true
    else
      local k, start = top[1], tonumber(top[2])
      local turn = math.min(quantum, free - moved)
      local ms = redis.call('LPOP', list(p, k), turn)
      if ms then
        local weight, taken = '1', 0
        for j = 1, #ms do
          -- (the fields the entry needs, without sf_order_parse's table: the hot loop)
          local ticket, w, run_id, node, attempts = string.match(ms[j], kMember)
          if ticket then
            redis.call('XADD', stream, '*', 'r', run_id, 's', node, 'a', attempts, 'b', ticket)
            weight, taken = w, taken + 1
          end
        end
        moved, total, n[p], changed[p] = moved + taken, total - #ms, n[p] - #ms, true
        if #ms == turn then
          -- back with its next start time, even if it ran dry now (lazy)
          redis.call('ZADD', stream .. ':or:' .. p, start + taken / tonumber(weight), k)
        else
          redis.call('ZREM', stream .. ':oa:' .. p, k)  -- ran dry: it leaves the level
        end
        v[p] = string.format('%.17g', start)
      else
        redis.call('ZREM', stream .. ':oa:' .. p, k)  -- a key that ran dry earlier leaves
      end
    end
  end
end

local set = {}
for q = 0, 9 do
  if changed[q] then
    n[q] = math.max(n[q], 0)
    set[#set + 1] = 'n.' .. q
    set[#set + 1] = n[q]
    set[#set + 1] = 'v.' .. q
    set[#set + 1] = v[q]
    -- a level with nothing waiting: its (lazily kept) key sets go whole
    -- (emptied rather than DEL: the worker's ACL user may not delete keys)
    if n[q] == 0 then
      redis.call('ZREMRANGEBYRANK', stream .. ':or:' .. q, 0, -1)
      redis.call('ZREMRANGEBYRANK', stream .. ':oa:' .. q, 0, -1)
    end
  end
end
if #set > 0 then redis.call('HSET', o, unpack(set)) end
if moved < free and total <= 0 then
  redis.call('HSET', ow, consumer, free - moved)
  redis.call('PEXPIRE', ow, ttl)
else
  redis.call('HDEL', ow, consumer)
end
return {moved, math.max(total, 0)}
