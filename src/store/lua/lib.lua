-- Prepended to every steadfast script at build time.
--
-- Fencing: a worker's claim of a stream entry is the token (entry id,
-- consumer, delivery count). Redis bumps the delivery count on every
-- XREADGROUP/XCLAIM/XAUTOCLAIM delivery, so a worker that was paused past its
-- lease and reclaimed by another (or by itself after a restart) holds a stale
-- token, and every transition below refuses it.
local function sf_owns(stream, group, id, consumer, deliveries)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  local e = p[1]
  return e ~= nil and e[2] == consumer and tonumber(e[4]) == tonumber(deliveries)
end

-- Redis time in ms: leases, delays and timestamps never use worker clocks.
local function sf_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function sf_drop_entry(stream, group, id)
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end

local sf_terminal = {completed = true, failed = true, cancelled = true}

-- Appends {attempt, error, started_at, failed_at} to the step's error history
-- (a JSON array, the newest last, at most 20 entries kept).
local function sf_push_error(run, step, attempt, err, now)
  local field = 's.' .. step .. '.errors'
  local raw = redis.call('HGET', run, field)
  local list = {}
  if raw then list = cjson.decode(raw) end
  local started = redis.call('HGET', run, 's.' .. step .. '.started_at')
  table.insert(list, {attempt = tonumber(attempt), error = err,
                      started_at = tonumber(started or 0), failed_at = now})
  while #list > 20 do table.remove(list, 1) end
  redis.call('HSET', run, field, cjson.encode(list))
end

-- Upper bounds (ms) of the step duration histogram's buckets; 'inf' above.
-- Keep in sync with kStepDurationBucketsMs (src/store/store.h).
local sf_buckets = {10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000}
local function sf_duration_bucket(ms)
  for _, le in ipairs(sf_buckets) do
    if ms <= le then return tostring(le) end
  end
  return 'inf'
end
