#!lua
-- Claims a batch of fetched entries of one stream: checks every token in the
-- PEL, marks the step running (unless the run is already terminal or being
-- cancelled) and returns the run's hash so the worker can decide and run the
-- handler.
-- Fencing at claim: a fresh XREADGROUP delivery is not trusted either. A worker
-- that stalled between the read's reply and this script (CPU starvation,
-- SIGSTOP, a slow network) past the lease may find its entry reclaimed by
-- another worker, re-delivered, or already acknowledged; then it must write
-- nothing, or it would mark a step another worker owns (or has finished) as
-- running under its own name. One XPENDING over the batch's range checks all.
-- Hot path: per batch TIME and XPENDING; per entry HGETALL (for an item of a
-- map step, HMGET of what it needs: lib.lua's sf_item_fields) and HSET. The
-- claim of each entry is lib.lua's sf_claim_item, shared with claim.lua (a
-- read and its claims in one call, for a queue with work waiting). The hash
-- returned is the one read before the HSET (the worker decides from status,
-- cancel and base).
-- KEYS[1] stream, KEYS[2..] run hashes (one per item)
-- ARGV: group, consumer, then per item: entry id, step, deliveries (the count
--       the worker was delivered the entry with: 1 for a fresh XREADGROUP '>'
--       delivery; 0 = unknown, accept whatever count this consumer holds),
--       the entry's backlog ticket (its field `b`: it came from an ordered
--       queue's backlog, lib.lua's "Ordered queues"; '' = none)
-- Returns per item {state, deliveries, flat hash, Redis now ms}; state: 'ok', 'lost' (not
-- ours, or no longer with that count: nothing written), 'missing' (the run
-- hash is gone; entry dropped), 'stale' (a backlog token the run no longer
-- points at — cancelled, replayed, repaired meanwhile; entry dropped).
-- A backlog token's first claim writes the stream entry id over the ticket
-- in the run's (or node's) `entry`, so that cancel and the doctor see it.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]

local now_ms = sf_now()
local now = string.format('%d', now_ms)
local n = #KEYS - 1
local ids = {}
for i = 1, n do ids[i] = ARGV[4 * i - 1] end
local held = sf_held(stream, group, consumer, ids)
local out = {}
local unchanging = {}  -- sf_item_fields' reads of this call
for i = 1, n do
  local run = KEYS[i + 1]
  local id, step, asked, ticket = ARGV[4 * i - 1], ARGV[4 * i], tonumber(ARGV[4 * i + 1]), ARGV[4 * i + 2]
  local deliveries = held[id]
  if deliveries == nil or (asked ~= 0 and asked ~= deliveries) then
    out[i] = {'lost', 0, {}, now_ms}
  else
    local state, h = sf_claim_item(stream, group, consumer, run, id, step, deliveries, ticket, now, unchanging)
    out[i] = {state, deliveries, h, now_ms}
  end
end
return out
