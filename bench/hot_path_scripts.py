#!/usr/bin/env python3
"""Redis time of the hot path's two scripts, start.lua and complete.lua, per
step, for one or more versions of src/store/lua, next to the issue's floor.

It drives the scripts as a worker does (a batch XREADGROUP and start.lua
over the batch — or, for a version that has claim.lua, that one script as a
worker reads a busy queue — then complete.lua over the batch) on a private
redis-server, with no worker: what it measures is Redis' time inside the
reads and EVALSHA (INFO commandstats, microseconds per step), not the
client's, nor the network's. Batches rotate over the versions
(and the floor), so that the machine's drift, large on a shared VM, hits
every version alike: compare the versions of one run, never runs of two days.

The floor (issue 20): the same XREADGROUP, then one script doing per entry
HSET (checkpoint) + XADD (next token) and per batch XACK + XDEL — what a
durable step costs with nothing else (its read counted too).

  /usr/bin/python3 bench/hot_path_scripts.py                  # the working tree
  /usr/bin/python3 bench/hot_path_scripts.py --rev HEAD~3 --rev HEAD --steps 3
  /usr/bin/python3 bench/hot_path_scripts.py --dir /tmp/variant/lua --dir src/store/lua

Needs redis-server and Debian's python3-redis. Prints one JSON line per
version and one for the floor.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUP, CONSUMER = 'workers', 'w1'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_redis(tmp, node_entries):
    port = free_port()
    proc = subprocess.Popen(['redis-server', '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                             '--appendonly', 'no', '--dir', tmp, '--stream-node-max-entries', str(node_entries)],
                            stdout=subprocess.DEVNULL)
    r = redis.Redis(port=port)
    for _ in range(100):
        try:
            r.ping()
            return proc, r
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    sys.exit('redis-server did not start')


def lua_of_rev(rev, tmp):
    out = os.path.join(tmp, 'rev-' + rev.replace('/', '_'))
    os.makedirs(out)
    tar = subprocess.run(['git', '-C', ROOT, 'archive', rev, 'src/store/lua'], check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', out], input=tar, check=True)
    return os.path.join(out, 'src/store/lua')


def load(r, lua_dir, name):
    # as src/store/embed_lua.cmake: lib.lua after the script's #!lua line
    lib = open(os.path.join(lua_dir, 'lib.lua')).read()
    first, rest = open(os.path.join(lua_dir, name + '.lua')).read().split('\n', 1)
    return r.script_load(first + '\n' + lib + '\n' + rest)


FLOOR = """
local ids = {}
for i = 2, #KEYS do
  local id = ARGV[2 * i - 3]
  redis.call('HSET', KEYS[i], 'status', 'completed', 'output', ARGV[2 * i - 2])
  redis.call('XADD', KEYS[1] .. ':next', '*', 'r', id)
  ids[#ids + 1] = id
end
redis.call('XACK', KEYS[1], 'workers', unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
return #ids
"""


def evalsha_usec(r):
    return r.info('commandstats').get('cmdstat_evalsha', {}).get('usec', 0)


def read_usec(r):
    return r.info('commandstats').get('cmdstat_xreadgroup', {}).get('usec', 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dir', action='append', default=[], help='a src/store/lua folder to measure')
    ap.add_argument('--rev', action='append', default=[], help='a git revision whose src/store/lua to measure')
    ap.add_argument('--runs', type=int, default=20000, help='runs per version (default 20000)')
    ap.add_argument('--steps', type=int, default=1, choices=[1, 3], help='steps per run: 1 (no-op) or 3')
    ap.add_argument('--batch', type=int, default=32, help='entries per XREADGROUP (default 32, as a 64-slot worker)')
    ap.add_argument('--node-entries', type=int, default=100,
                    help="redis-server's stream-node-max-entries (default 100, Redis' own)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sf-hotpath-')
    proc, r = start_redis(tmp, a.node_entries)
    try:
        versions = [(d, d) for d in a.dir] + [('rev ' + v, lua_of_rev(v, tmp)) for v in a.rev]
        if not versions:
            versions = [('working tree', os.path.join(ROOT, 'src/store/lua'))]
        measure(r, versions, a)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def measure(r, versions, a):
    steps = ['noop'] if a.steps == 1 else ['a', 'b', 'c']
    now = int(time.time() * 1000)
    lanes = []  # per version: its scripts, its stream, its counters
    for k, (name, lua) in enumerate(versions):
        stream = 'v%d:{0}:q:default' % k
        r.xgroup_create(stream, GROUP, '0', mkstream=True)
        p = r.pipeline(transaction=False)
        for i in range(a.runs):
            rid = '01JF%022d' % i
            p.hset('v%d:{0}:run:%s' % (k, rid), mapping={
                'workflow': 'w', 'status': 'queued', 'input': '{"i":%d}' % i, 'created_at': now,
                'updated_at': now, 'step': steps[0], 'queue': 'default', 'entry': '', 'base': '0',
                'steps': json.dumps(steps), 's.%s.status' % steps[0]: 'queued'})
            p.xadd(stream, {'r': rid, 's': steps[0], 'a': '0'})
            p.zadd('v%d:{0}:ix:st:live' % k, {rid: 0})
            if i % 1000 == 999:
                p.execute()
        p.execute()
        claim = load(r, lua, 'claim') if os.path.exists(os.path.join(lua, 'claim.lua')) else None
        lanes.append({'name': name, 'k': k, 'stream': stream, 'start': load(r, lua, 'start'), 'claim': claim,
                      'complete': load(r, lua, 'complete'), 'read_us': 0, 'start_us': 0, 'complete_us': 0,
                      'steps': 0})
    floor_stream = '{0}:floor:q'
    r.xgroup_create(floor_stream, GROUP, '0', mkstream=True)
    p = r.pipeline(transaction=False)
    for i in range(a.runs * a.steps):
        p.xadd(floor_stream, {'r': '01JF%022d' % i, 's': 'noop', 'a': '0'})
        if i % 1000 == 999:
            p.execute()
    p.execute()
    floor = {'sha': r.script_load(FLOOR), 'us': 0, 'steps': 0}
    live = list(lanes) + [floor]
    while live:
        for lane in list(live):
            if not (step_floor(r, floor_stream, floor, a) if lane is floor else step_lane(r, lane, steps, a)):
                live.remove(lane)
    for lane in lanes:
        n = lane['steps']
        k = lane['k']
        left = r.zcard('v%d:{0}:ix:st:live' % k)
        done = int(r.hget('v%d:{0}:stats' % k, 'completed:w') or 0)
        if n != a.runs * a.steps or left != 0 or done != a.runs:
            sys.exit('%s: %d steps, %d runs left live, %d completed: the scripts did not run as a worker expects'
                     % (lane['name'], n, left, done))
        total = (lane['read_us'] + lane['start_us'] + lane['complete_us']) / n
        print(json.dumps({'version': lane['name'], 'steps_per_run': a.steps, 'steps': n,
                          'claim': 'claim.lua' if lane['claim'] else 'XREADGROUP + start.lua',
                          'read_us_per_step': round(lane['read_us'] / n, 2),
                          'start_us_per_step': round(lane['start_us'] / n, 2),
                          'complete_us_per_step': round(lane['complete_us'] / n, 2),
                          'total_us_per_step': round(total, 2),
                          'over_floor': round(total / (floor['us'] / floor['steps']), 2)}))
    print(json.dumps({'version': 'floor', 'steps': floor['steps'],
                      'total_us_per_step': round(floor['us'] / floor['steps'], 2)}))


def step_lane(r, lane, steps, a):
    k, stream = lane['k'], lane['stream']
    if lane['claim']:
        # claim.lua: the read and the claims in one call (a worker's read of a busy queue)
        u0 = evalsha_usec(r)
        got = r.evalsha(lane['claim'], 1, stream, GROUP, CONSUMER, a.batch)
        u1 = evalsha_usec(r)
        entries = [(got[i], {b'r': got[i + 1], b's': got[i + 2]}) for i in range(1, len(got), 6)]
        if not entries:
            return False
        if any(got[i + 4] != b'ok' for i in range(1, len(got), 6)):
            sys.exit('%s: claim.lua answered %r' % (lane['name'], got[:7]))
    else:
        r0 = read_usec(r)
        got = r.xreadgroup(GROUP, CONSUMER, {stream: '>'}, count=a.batch)
        lane['read_us'] += read_usec(r) - r0
        if not got or not got[0][1]:
            return False
        entries = got[0][1]
        keys, args = [stream], [GROUP, CONSUMER]
        for eid, f in entries:
            keys.append('v%d:{0}:run:%s' % (k, f[b'r'].decode()))
            args += [eid.decode(), f[b's'].decode(), '1', '']
        u0 = evalsha_usec(r)
        r.evalsha(lane['start'], len(keys), *keys, *args)
        u1 = evalsha_usec(r)
    keys = [stream] + ['v%d:{0}:%s' % (k, s) for s in ('stats', 'expire', 'ix:st:live', 'ix:st:cancelled', 'dlq',
                                                           'ix:st:failed', 'timers')]
    args = [GROUP, CONSUMER, '604800000']
    for eid, f in entries:
        rid, step = f[b'r'].decode(), f[b's'].decode()
        at = steps.index(step)
        last = at == len(steps) - 1
        keys += ['v%d:{0}:run:%s' % (k, rid), stream]
        args += [eid.decode(), '1', rid, step, '{"ok":true}', '1', '' if last else steps[at + 1],
                 '' if last else 'default', 'w', '', '', '']
    res = r.evalsha(lane['complete'], len(keys), *keys, *args)
    u2 = evalsha_usec(r)
    if any(x != b'ok' for x in res):
        sys.exit('%s: complete.lua answered %r' % (lane['name'], res[:4]))
    lane['start_us'] += u1 - u0
    lane['complete_us'] += u2 - u1
    lane['steps'] += len(entries)
    return True


def step_floor(r, stream, floor, a):
    r0 = read_usec(r)
    got = r.xreadgroup(GROUP, CONSUMER, {stream: '>'}, count=a.batch)
    floor['us'] += read_usec(r) - r0
    if not got or not got[0][1]:
        return False
    keys, args = [stream], []
    for eid, f in got[0][1]:
        keys.append('{0}:floor:run:' + f[b'r'].decode())
        args += [eid.decode(), '{"ok":true}']
    u0 = evalsha_usec(r)
    r.evalsha(floor['sha'], len(keys), *keys, *args)
    floor['us'] += evalsha_usec(r) - u0
    floor['steps'] += len(got[0][1])
    return True


if __name__ == '__main__':
    main()
