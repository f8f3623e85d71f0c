#!lua
-- Admission through every limiter a step goes through, all at once, on Redis
-- time: for each, a pause (set after an upstream 429, on the instance or on
-- the whole limiter), requests per minute (GCRA), tokens per minute (token
-- bucket, may be in debt after reconciliation) and a concurrency cap
-- (holders with expiring leases). Nothing is taken from any limiter unless
-- every bound of every limiter admits. All limiter keys share one hash tag,
-- so this stays one script on a cluster.
-- A limiter instance is the limiter itself or one key's instance of it (its
-- own keys, which expire after `idle` ms without use: a million idle keys
-- cost nothing).
-- A key's instance may have a runtime override of its bounds (the
-- limiter's overrides hash, under the key's value; sf_limit_override): it
-- replaces the bounds the worker sent, which already hold the file's.
-- KEYS, per limiter: instance hash, instance holders zset, the limiter's
--       own hash (its pause applies to every instance; = the instance hash
--       for an unkeyed limiter), the limiter's overrides hash
-- ARGV: holder id, hold ms, then per limiter 8 values: requests per minute,
--       burst, tokens per minute, token capacity, concurrency, cost (tokens),
--       idle ms (0 = never expires), the key's value ('' = unkeyed)
-- Counts per limiter (a keyed one's instances count into the limiter's own
-- hash), for GET /v1/limiters and the metrics: `admitted` and `waits`
-- (totals), and this minute's and the previous minute's admissions and
-- waits (`recent_minute`, Redis ms / 60000; `recent_admitted`,
-- `recent_waits`, `previous_admitted`, `previous_waits`), rolled by the
-- first call of a minute.
-- A keyed limiter also ranks its keys by asks (admissions + waits) per
-- minute, for its busiest keys (GET /v1/limiters): ZSETs
-- `<limiter>:busy:<minute>` (asks) and `<limiter>:waited:<minute>` (waits),
-- member `<the key's SHA-1>:<its value, cut to 128 bytes>`, expiring two
-- minutes after the last ask (no roll, no delete: keys derived from the
-- limiter's, so in its slot).
-- Returns {1, 0, '', 0} when admitted, or {0, ms to wait before asking
-- again, reason, which limiter (1-based) asked for that wait}; reason
-- 'capacity' (wait 0, a 5th value: the bucket's size) when the cost is over
-- the instance's bucket: it could never be admitted.
local holder, hold_ms = ARGV[1], tonumber(ARGV[2])
local n = #KEYS / 4
local now = sf_now()
local per = 8

local wait, reason, which = 0, '', 0
local plans = {}
for i = 1, n do
  local lim, holders, base = KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1]
  local a = 2 + (i - 1) * per
  local b = {rpm = tonumber(ARGV[a + 1]), burst = tonumber(ARGV[a + 2]), tpm = tonumber(ARGV[a + 3]),
             capacity = tonumber(ARGV[a + 4]), conc = tonumber(ARGV[a + 5])}
  sf_limit_override(KEYS[4 * i], ARGV[a + 8], b)
  local rpm, burst, tpm, capacity, conc = b.rpm, b.burst, b.tpm, b.capacity, b.conc
  local cost, idle = tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7])
  if tpm > 0 and cost > capacity then return {0, 0, 'capacity', i, capacity} end
  local h = redis.call('HMGET', lim, 'tat', 'tokens', 'tokens_at', 'paused_until', 'recent_minute',
                       'recent_admitted', 'recent_waits')
  local p = {lim = lim, holders = holders, h = h, rpm = rpm, tpm = tpm, conc = conc, cost = cost,
             idle = idle, wait = 0, value = ARGV[a + 8]}
  local function need(ms, why)
    if ms > p.wait then p.wait = ms end
    if ms > wait then wait, reason, which = ms, why, i end
  end
  local paused = tonumber(h[4] or 0)
  p.base, p.counts = base, {h[5], h[6], h[7]}
  if base ~= lim then
    local bh = redis.call('HMGET', base, 'paused_until', 'recent_minute', 'recent_admitted', 'recent_waits')
    paused = math.max(paused, tonumber(bh[1] or 0))
    p.counts = {bh[2], bh[3], bh[4]}
  end
  if paused > now then need(paused - now, 'paused') end
  if rpm > 0 then
    local interval = 60000 / rpm
    local tat = math.max(tonumber(h[1] or 0), now)
    local allowed_at = tat - (burst - 1) * interval
    if allowed_at > now then need(math.ceil(allowed_at - now), 'requests') end
    p.tat = tat + interval
  end
  if tpm > 0 then
    local rate = tpm / 60000
    local tokens = tonumber(h[2] or capacity)
    local at = tonumber(h[3] or now)
    tokens = math.min(capacity, tokens + (now - at) * rate)
    -- The worker never asks for more than the capacity (a larger estimate fails
    -- the attempt); min() keeps an older worker's larger cost admissible.
    local want = math.min(cost, capacity)
    if tokens < want then need(math.ceil((want - tokens) / rate), 'tokens') end
    p.tokens = tokens
  end
  if conc > 0 then
    redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
    if not redis.call('ZSCORE', holders, holder) and redis.call('ZCARD', holders) >= conc then
      -- A slot frees on a release (unknown time) or an expiry: ask again soon.
      local first = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')
      need(math.max(1, math.min(50, tonumber(first[2]) - now)), 'concurrency')
    end
  end
  plans[i] = p
end

local kBusyTtlMs = 120000
local kBusyValueBytes = 128

-- At most kBusyValueBytes of a key's value, not cutting a UTF-8 sequence.
local function shown(v)
  if #v <= kBusyValueBytes then return v end
  local n = kBusyValueBytes
  while n > 0 do
    local c = string.byte(v, n + 1)
    if c < 0x80 or c >= 0xC0 then break end
    n = n - 1
  end
  return string.sub(v, 1, n)
end

-- One more admission or wait (`what`: 'admitted' | 'waits') in the limiter's
-- totals and this minute's count, and for a keyed limiter in its key's rank.
local function count(p, what)
  local minute = math.floor(now / 60000)
  local counted = tonumber(p.counts[1] or -1)
  if counted ~= minute then
    local pa, pw = 0, 0
    if counted == minute - 1 then pa, pw = tonumber(p.counts[2] or 0), tonumber(p.counts[3] or 0) end
    redis.call('HSET', p.base, 'recent_minute', minute, 'recent_admitted', 0, 'recent_waits', 0,
               'previous_admitted', pa, 'previous_waits', pw)
  end
  redis.call('HINCRBY', p.base, 'recent_' .. what, 1)
  redis.call('HINCRBY', p.base, what, 1)
  if p.base ~= p.lim then  -- a key's instance
    local member = string.sub(p.lim, -40) .. ':' .. shown(p.value)
    local busy = p.base .. ':busy:' .. minute
    redis.call('ZINCRBY', busy, 1, member)
    redis.call('PEXPIRE', busy, kBusyTtlMs)
    if what == 'waits' then
      local waited = p.base .. ':waited:' .. minute
      redis.call('ZINCRBY', waited, 1, member)
      redis.call('PEXPIRE', waited, kBusyTtlMs)
    end
  end
end

if wait > 0 then
  -- Waits are counted where they come from (also the limiter-wait metric).
  for i = 1, n do
    if plans[i].wait > 0 then count(plans[i], 'waits') end
  end
  return {0, wait, reason, which}
end

for i = 1, n do
  local p = plans[i]
  if p.rpm > 0 then redis.call('HSET', p.lim, 'tat', string.format('%.3f', p.tat)) end
  if p.tpm > 0 then
    redis.call('HSET', p.lim, 'tokens', string.format('%.3f', p.tokens - p.cost), 'tokens_at', now)
  end
  if p.idle > 0 and (p.rpm > 0 or p.tpm > 0) then redis.call('PEXPIRE', p.lim, p.idle) end
  if p.conc > 0 then
    redis.call('ZADD', p.holders, now + hold_ms, holder)
    if p.idle > 0 then redis.call('PEXPIRE', p.holders, math.max(p.idle, hold_ms)) end
  end
  count(p, 'admitted')
end
return {1, 0, '', 0}
