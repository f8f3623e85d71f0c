#!lua
-- Reads and claims in one call: XREADGROUP '>' of up to `count` new entries
-- of one stream for `consumer`, then each entry claimed as start.lua claims
-- it (lib.lua's sf_claim_item). start.lua's fencing check is not needed
-- here: the delivery and the claim's write are one atomic step, so no other
-- worker can have taken the entry in between. The worker calls it while a
-- queue has work waiting (its last read of the queue was full); an empty
-- answer sends it back to its blocking XREADGROUP, which start.lua follows
-- (Worker::Impl::fetch_loop). Against a read then start.lua it saves the
-- round trip, the XPENDING and its reply, and the entries sent back as
-- arguments: docs/benchmarks.md "The hot path's scripts".
-- KEYS[1] stream. The run hashes it reads are named from the entries: the
-- stream's partition base (`<prefix>:{P}:`) .. 'run:' .. run id, so in the
-- stream's slot whatever an entry holds (a run of another partition is
-- never queued here; such an entry would find no hash: 'missing').
-- ARGV: group, consumer, count (> 0)
-- Returns {Redis now ms, then per entry a flat group of six: entry id, run
-- id, step, backlog ticket ('' = none), state, flat hash}; state as
-- start.lua's ('ok', 'missing', 'stale'), never 'lost'; every entry's
-- delivery count is 1. An entry without a run id or step (not one of ours)
-- is dropped and answered 'missing'.
local stream, group, consumer, count = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local base = string.match(stream, '^(.*}:)q:[^}]*$')
if not base then return redis.error_reply('ERR claim.lua: ' .. stream .. ' is not a queue stream') end
local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')
local now_ms = sf_now()
local out = {now_ms}
if not read then return out end
local now = string.format('%d', now_ms)
local unchanging = {}  -- sf_item_fields' reads of this call
for _, e in ipairs(read[1][2]) do
  local id, f = e[1], e[2]
  local run_id, step, ticket = nil, nil, ''
  for k = 1, #f, 2 do
    local name = f[k]
    if name == 'r' then run_id = f[k + 1]
    elseif name == 's' then step = f[k + 1]
    elseif name == 'b' then ticket = f[k + 1] end
  end
  local state, h = 'missing', {}
  if run_id and step then
    state, h = sf_claim_item(stream, group, consumer, base .. 'run:' .. run_id, id, step, 1, ticket, now, unchanging)
  else
    sf_drop_entry(stream, group, id)
  end
  out[#out + 1] = id
  out[#out + 1] = run_id or ''
  out[#out + 1] = step or ''
  out[#out + 1] = ticket
  out[#out + 1] = state
  out[#out + 1] = h
end
return out
