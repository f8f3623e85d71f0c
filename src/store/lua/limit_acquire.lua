#!lua
-- Admission through a global limiter, all bounds checked and taken at once, on
-- Redis time: a pause (set after an upstream 429), requests per minute (GCRA),
-- tokens per minute (token bucket, may be in debt after reconciliation) and a
-- concurrency cap (holders with expiring leases). Nothing is taken unless
-- every bound admits.
-- KEYS[1] limiter hash, KEYS[2] holders zset
-- ARGV: requests per minute, burst, tokens per minute, token capacity,
--       concurrency, cost (tokens), holder id, hold ms
-- Counts, for GET /v1/limiters: `admitted` and `waits` (totals), and this
-- minute's and the previous minute's admissions and waits (`recent_minute`,
-- Redis ms / 60000; `recent_admitted`, `recent_waits`, `previous_admitted`,
-- `previous_waits`), rolled by the first call of a minute.
-- Returns {1, 0} when admitted, or {0, ms to wait before asking again, reason}.
local lim, holders = KEYS[1], KEYS[2]
local rpm, burst, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local capacity, conc, cost = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local holder, hold_ms = ARGV[7], tonumber(ARGV[8])
local now = sf_now()
local h = redis.call('HMGET', lim, 'tat', 'tokens', 'tokens_at', 'paused_until', 'recent_minute',
                     'recent_admitted', 'recent_waits')

-- One more admission or wait (`what`: 'admitted' | 'waits') in the totals and this minute's count.
local function count(what)
  local minute = math.floor(now / 60000)
  local counted = tonumber(h[5] or -1)
  if counted ~= minute then
    local pa, pw = 0, 0
    if counted == minute - 1 then pa, pw = tonumber(h[6] or 0), tonumber(h[7] or 0) end
    redis.call('HSET', lim, 'recent_minute', minute, 'recent_admitted', 0, 'recent_waits', 0,
               'previous_admitted', pa, 'previous_waits', pw)
  end
  redis.call('HINCRBY', lim, 'recent_' .. what, 1)
  redis.call('HINCRBY', lim, what, 1)
end

local wait, reason = 0, ''
local function need(ms, why)
  if ms > wait then wait, reason = ms, why end
end

local paused = tonumber(h[4] or 0)
if paused > now then need(paused - now, 'paused') end

local new_tat
if rpm > 0 then
  local interval = 60000 / rpm
  local tat = math.max(tonumber(h[1] or 0), now)
  local allowed_at = tat - (burst - 1) * interval
  if allowed_at > now then need(math.ceil(allowed_at - now), 'requests') end
  new_tat = tat + interval
end

local tokens
if tpm > 0 then
  local rate = tpm / 60000
  tokens = tonumber(h[2] or capacity)
  local at = tonumber(h[3] or now)
  tokens = math.min(capacity, tokens + (now - at) * rate)
  -- The worker never asks for more than the capacity (a larger estimate fails
  -- the attempt); min() keeps an older worker's larger cost admissible.
  local want = math.min(cost, capacity)
  if tokens < want then need(math.ceil((want - tokens) / rate), 'tokens') end
end

if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
  if not redis.call('ZSCORE', holders, holder) and redis.call('ZCARD', holders) >= conc then
    -- A slot frees on a release (unknown time) or an expiry: ask again soon.
    local first = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')
    need(math.max(1, math.min(50, tonumber(first[2]) - now)), 'concurrency')
  end
end

if wait > 0 then
  count('waits')  -- also the limiter-wait metric
  return {0, wait, reason}
end

if rpm > 0 then redis.call('HSET', lim, 'tat', string.format('%.3f', new_tat)) end
if tpm > 0 then
  redis.call('HSET', lim, 'tokens', string.format('%.3f', tokens - cost), 'tokens_at', now)
end
if conc > 0 then redis.call('ZADD', holders, now + hold_ms, holder) end
count('admitted')
return {1, 0, ''}
