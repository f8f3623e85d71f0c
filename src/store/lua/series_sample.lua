#!lua
-- A minute's sample for the per-minute series (GET /v1/stats/series): the
-- partition's cumulative counters (submitted:, completed:, failed:,
-- retried:<workflow>, which the transition scripts keep anyway, so the series
-- costs the hot path nothing) and the depth of the caller's queues. The
-- reader takes the difference of consecutive minutes. Any worker calls it
-- once a minute per partition: the first in a minute writes the counters,
-- each queue's depth is written by the first that samples it.
-- KEYS[1] partition stats hash, KEYS[2] the series hash of the hour the
-- caller believes it is (sf:{P}:series:<hour>); then the queue streams
-- ARGV: that hour (Unix ms / 3600000); then per queue stream its name
-- Fields: "<minute>|@" (the counters' marker), "<minute>|<counter>",
-- "<minute>|depth:<queue>" (entries: undelivered + pending); minute = Redis
-- Unix ms / 60000. The hash expires 50 h after its first sample.
-- Returns {'ok' | 'sampled' (the counters of this minute were there already) |
-- 'hour' (the caller's hour is not Redis's: nothing written), Redis now ms}.
local stats, series, hour = KEYS[1], KEYS[2], tonumber(ARGV[1])
local now = sf_now()
if math.floor(now / 3600000) ~= hour then return {'hour', now} end
local minute = string.format('%d', math.floor(now / 60000))
local state = 'sampled'
if redis.call('HSETNX', series, minute .. '|@', now) == 1 then
  state = 'ok'
  local all = redis.call('HGETALL', stats)
  for i = 1, #all, 2 do
    local name = all[i]
    if string.find(name, '^submitted:') or string.find(name, '^completed:') or
        string.find(name, '^failed:') or string.find(name, '^retried:') then
      redis.call('HSET', series, minute .. '|' .. name, all[i + 1])
    end
  end
  redis.call('EXPIRE', series, 50 * 3600, 'NX')
end
for k = 3, #KEYS do
  redis.call('HSETNX', series, minute .. '|depth:' .. ARGV[k - 1], redis.call('XLEN', KEYS[k]))
end
return {state, now}
