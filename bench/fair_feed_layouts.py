#!/usr/bin/python3
"""Redis CPU per token of an ordered queue's feed, for three backlog layouts.

    /usr/bin/python3 bench/fair_feed_layouts.py [TOKENS] [KEYS]   (100000 10000)

Issue 16 item 6 asks for a fair drain of at least 0.8x FIFO at 10,000 keys;
this isolates the feed (moving backlog tokens into the stream, feeds of 64) to
see what a different layout could save, before rebuilding feed.lua around it.
It starts its own redis-server on a free loopback port (no persistence) and
stops it by PID. Needs Debian's python3-redis (scripts/install-deps.sh).

Layouts, all holding TOKENS tokens of KEYS tenants (token i: tenant i mod KEYS):
  lists      today's (src/store/lua/feed.lua): a LIST per key of full backlog
             members (ticket, enqueued, priority, weight, aging, key, run,
             node, attempts), a ZSET of keys by virtual start; a key's turn
             moves up to 8 tokens, each parsed and XADDed with 4 fields.
  tag-zset   one ZSET of the same members scored by a virtual start tag fixed
             at enqueue (start-time fair queuing with precomputed tags):
             ZPOPMIN 64, then parse and XADD each.
  short      the tag ZSET with short members (ticket and run id only), XADDed
             with 2 fields.
Prints the Redis CPU (INFO cpu, user + sys) per token moved, and wall time.
"""
import socket
import subprocess
import sys
import time

import redis

MEMBER = r"^(%d+)\t%d+\t%d\t([^\t]+)\t%d+\t[^\t]+\t([^\t]*)\t([^\t]*)\t([^\t]*)$"

FEED_LISTS = """
local moved, free = 0, tonumber(ARGV[1])
local quantum = math.min(8, math.max(1, math.floor(free / 8)))
while moved < free do
  local top = redis.call('ZPOPMIN', 'l:keys')
  if #top == 0 then break end
  local k, start = top[1], tonumber(top[2])
  local turn = math.min(quantum, free - moved)
  local ms = redis.call('LPOP', 'l:' .. k, turn)
  if ms then
    for j = 1, #ms do
      local t, w, run_id, node, att = string.match(ms[j], '%s')
      redis.call('XADD', 'l:stream', '*', 'r', run_id, 's', node, 'a', att, 'b', t)
    end
    moved = moved + #ms
    if #ms == turn then redis.call('ZADD', 'l:keys', start + #ms, k) end
  end
end
return moved
""" % MEMBER

FEED_TAGS = """
local top = redis.call('ZPOPMIN', 't:tokens', tonumber(ARGV[1]))
local v = 0
for j = 1, #top, 2 do
  local t, w, run_id, node, att = string.match(top[j], '%s')
  redis.call('XADD', 't:stream', '*', 'r', run_id, 's', node, 'a', att, 'b', t)
  v = top[j + 1]
end
redis.call('ZREMRANGEBYSCORE', 't:finish', '-inf', v)
return #top / 2
""" % MEMBER

FEED_SHORT = """
local top = redis.call('ZPOPMIN', 's:tokens', tonumber(ARGV[1]))
local v = 0
for j = 1, #top, 2 do
  local m = top[j]
  local tab = string.find(m, '\\t', 1, true)
  redis.call('XADD', 's:stream', '*', 'r', string.sub(m, tab + 1), 'b', string.sub(m, 1, tab - 1))
  v = top[j + 1]
end
redis.call('ZREMRANGEBYSCORE', 's:finish', '-inf', v)
return #top / 2
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    tokens = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        pipe = r.pipeline(transaction=False)
        for i in range(tokens):
            k = "t%d" % (i % keys)
            m = "%d\t1700000000000\t5\t1\t0\t%s\trun%08d\tstep\t0" % (i, k, i)
            tag = i // keys  # key k's j-th token starts at j (weight 1)
            pipe.rpush("l:" + k, m)
            if i < keys:
                pipe.zadd("l:keys", {k: 0})
            pipe.zadd("t:tokens", {m: tag})
            pipe.zadd("t:finish", {k: tag + 1})
            pipe.zadd("s:tokens", {"%d\trun%08d" % (i, i): tag})
            pipe.zadd("s:finish", {k: tag + 1})
            if len(pipe) > 5000:
                pipe.execute()
        pipe.execute()

        def cpu():
            info = r.info("cpu")
            return info["used_cpu_user"] + info["used_cpu_sys"]

        for name, source in (("lists", FEED_LISTS), ("tag-zset", FEED_TAGS), ("short", FEED_SHORT)):
            feed = r.register_script(source)
            c0, t0, moved = cpu(), time.time(), 0
            while True:
                n = feed(args=[64])
                if n == 0:
                    break
                moved += n
            c1 = cpu()
            print("%-9s tokens=%d keys=%d: Redis CPU %.2f us/token, wall %.2f us/token"
                  % (name, moved, keys, (c1 - c0) / moved * 1e6, (time.time() - t0) / moved * 1e6))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
