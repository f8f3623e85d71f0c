#!lua flags=allow-oom
-- Takes over entries whose owner stopped renewing (idle longer than the lease),
-- one XAUTOCLAIM page from `cursor`. Entries Redis reports deleted (their
-- payload is gone) go to the dead-letter stream as "payload lost", never dropped.
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] partition stats hash
-- ARGV: group, consumer, min idle ms, cursor, count
-- Returns {next cursor, {{id, run id, step, deliveries, backlog ticket ('' = none)}...}, lost count}.
local stream, dlq, stats, group, consumer = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local claimed = {}
for _, e in ipairs(r[2]) do
  local id, fields = e[1], e[2]
  local run_id, step, ticket = '', '', ''
  for k = 1, #fields, 2 do
    if fields[k] == 'r' then run_id = fields[k + 1]
    elseif fields[k] == 's' then step = fields[k + 1]
    elseif fields[k] == 'b' then ticket = fields[k + 1] end
  end
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  table.insert(claimed, {id, run_id, step, p[1] and p[1][4] or 0, ticket})
end
local lost = r[3] or {}
for _, id in ipairs(lost) do
  redis.call('XADD', dlq, '*', 'run', '', 'workflow', '', 'step', '', 'attempts', '0',
             'error', 'payload lost: stream entry ' .. id .. ' of ' .. stream ..
             ' was deleted while pending', 'errors', '[]', 'at', sf_now())
end
if #claimed > 0 then redis.call('HINCRBY', stats, 'reclaims', #claimed) end
return {r[1], claimed, #lost}
