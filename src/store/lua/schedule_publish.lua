#!lua
-- Publishes the schedules of a workflows file: they replace every published
-- schedule of the file's workflows, so a schedule removed from the file stops
-- (the schedulers fire only what is published), while schedules of workflows
-- the file does not define (another fleet's file) are left alone.
-- KEYS[1] the schedules hash (name -> JSON definition, with "workflow")
-- ARGV[1] the file's workflow names (JSON array); then pairs name, definition
-- Returns the number of schedules removed.
local hash = KEYS[1]
local owned = {}
for _, w in ipairs(cjson.decode(ARGV[1])) do owned[w] = true end
local kept = {}
for i = 2, #ARGV, 2 do kept[ARGV[i]] = true end
local removed = 0
local all = redis.call('HGETALL', hash)
for i = 1, #all, 2 do
  local ok, def = pcall(cjson.decode, all[i + 1])
  local workflow = ok and type(def) == 'table' and def.workflow or nil
  if not kept[all[i]] and (workflow == nil or owned[workflow]) then
    redis.call('HDEL', hash, all[i])
    removed = removed + 1
  end
end
for i = 2, #ARGV, 2 do redis.call('HSET', hash, ARGV[i], ARGV[i + 1]) end
return removed
