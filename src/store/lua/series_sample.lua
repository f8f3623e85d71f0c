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
-- ARGV: that hour (Unix ms / 3600000), the workers' consumer group; then per
-- queue stream its name
-- Fields: "<minute>|@" (the counters' marker), "<minute>|<counter>",
-- "<minute>|depth:<queue>" (entries: undelivered + pending), "<minute>|read:<queue>"
-- (the group's entries-read: entries ever delivered, for throughput; 0 before
-- the first delivery; absent while Redis does not know it, or without the
-- group); minute = Redis
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
local group = ARGV[2]
for k = 3, #KEYS do
  local queue = ARGV[k]
  redis.call('HSETNX', series, minute .. '|depth:' .. queue, redis.call('XLEN', KEYS[k]))
  if redis.call('EXISTS', KEYS[k]) == 1 then
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[k])) do
      local name, read, last
      for i = 1, #g, 2 do
        if g[i] == 'name' then name = g[i + 1]
        elseif g[i] == 'entries-read' then read = g[i + 1]
        elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
      end
      -- A group made at 0 that delivered nothing has no entries-read yet.
      if not read and last == '0-0' then read = 0 end
      if name == group and read then redis.call('HSETNX', series, minute .. '|read:' .. queue, read) end
    end
  end
end
return {state, now}
