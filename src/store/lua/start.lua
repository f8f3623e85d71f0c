-- Claims a batch of fetched entries of one stream: checks the token, marks the
-- step running (unless the run is already terminal or being cancelled) and
-- returns the run's hash so the worker can decide and run the handler.
-- Hot path: two commands per entry (HGETALL, HSET); the hash returned is the
-- one read before the HSET (the worker decides from status, cancel and base).
-- KEYS[1] stream, KEYS[2..] run hashes (one per item)
-- ARGV: group, consumer, then per item: entry id, step, deliveries (0 = unknown:
--       read it from the PEL; 1 for a fresh XREADGROUP '>' delivery)
-- Returns per item {state, deliveries, flat hash}; state: 'ok', 'lost' (not ours),
-- 'missing' (the run hash is gone; entry dropped).
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local now = string.format('%d', sf_now())
local out = {}
local n = #KEYS - 1
for i = 1, n do
  local run = KEYS[i + 1]
  local id, step, deliveries = ARGV[3 * i], ARGV[3 * i + 1], tonumber(ARGV[3 * i + 2])
  local ok = true
  if deliveries == 0 then
    local p = redis.call('XPENDING', stream, group, id, id, 1)
    if p[1] == nil or p[1][2] ~= consumer then
      ok = false
    else
      deliveries = tonumber(p[1][4])
    end
  end
  local h = ok and redis.call('HGETALL', run) or nil
  if not ok then
    out[i] = {'lost', 0, {}}
  elseif #h == 0 then
    sf_drop_entry(stream, group, id)
    out[i] = {'missing', deliveries, {}}
  else
    local status, cancel, base
    for k = 1, #h, 2 do
      local f = h[k]
      if f == 'status' then status = h[k + 1]
      elseif f == 'cancel' then cancel = h[k + 1]
      elseif f == 'base' then base = h[k + 1] end
    end
    if not sf_terminal[status] and cancel ~= '1' then
      redis.call('HSET', run, 'status', 'running', 'updated_at', now,
                 's.' .. step .. '.status', 'running',
                 's.' .. step .. '.attempts', tonumber(base or 0) + deliveries,
                 's.' .. step .. '.started_at', now,
                 's.' .. step .. '.worker', consumer)
    end
    out[i] = {'ok', deliveries, h}
  end
end
return out
