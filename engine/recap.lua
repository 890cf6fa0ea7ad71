-- recap.lua: caps the visitors of ONE visitor shard that were recorded
-- before their experiment's revenue cap was learned (engine/capping.h).
-- From then on record.lua caps every order as it records it; this brings
-- the visitors recorded earlier under the same cap, once, so that the
-- capped sums are sums over every visitor of min(total, cap).
--
-- Idempotent: a visitor whose record already carries what it counts for
-- under the cap (or whose total is below it) is left alone, so a pass cut
-- short can simply be run again.
--
-- KEYS[1] {x:EXP:G:N}:cnt    the shard's group counters; "cap" is set to
--                            ARGV[1] when the group has none, and the cap
--                            the group holds is the one applied
-- KEYS[2] {x:EXP:G:N}:v:S    the visitor record shard
-- ARGV[1] the learned cap; ARGV[2] the day the corrections count on (a
-- bandit's visitor is corrected in its period's fields too, "#PERIOD"
-- in place of the day: docs/redis.md)
-- Returns the number of visitors capped.
local cnt, shard, day = KEYS[1], KEYS[2], ARGV[2]
local call, tonumber, find, sub, format = redis.call, tonumber, string.find, string.sub, string.format
call('HSETNX', cnt, 'cap', ARGV[1])
local cap = tonumber(call('HGET', cnt, 'cap'))
local flat = call('HGETALL', shard)
local ks, kq, kx = {}, {}, {} -- per counter suffix "VARIANT|REGION|DAY", prefixed p when promoted
local pks, pkq = {}, {} -- per period suffix "|VARIANT|REGION|#PERIOD"
local capped = 0
for i = 1, #flat, 2 do
  local visitor, rec = flat[i], flat[i + 1]
  -- "VARIANT|REGION|FLAGS[|PERIOD][|X][|TOTAL[|CAPPED]]" (visitor_record.h)
  local p1 = find(rec, '|', 1, true)
  local p2 = find(rec, '|', p1 + 1, true)
  local p3 = find(rec, '|', p2 + 1, true)
  local flags = sub(rec, p2 + 1, (p3 or 0) - 1)
  if p3 and find(flags, 'c', 1, true) then
    local rest = sub(rec, p3 + 1)
    local bp, xs = nil, nil
    if find(flags, 'b', 1, true) then
      local p = find(rest, '|', 1, true)
      bp = sub(rest, 1, p - 1)
      rest = sub(rest, p + 1)
    end
    if find(flags, 'x', 1, true) then
      local p = find(rest, '|', 1, true)
      xs = sub(rest, 1, p - 1)
      rest = sub(rest, p + 1)
    end
    local p = find(rest, '|', 1, true)
    local t = tonumber(p and sub(rest, 1, p - 1) or rest)
    local k = p and tonumber(sub(rest, p + 1)) or t
    local k2 = t > cap and cap or t
    if k2 ~= k then
      local x = xs and tonumber(xs) or 0
      local key = (find(flags, 'p', 1, true) and 'p' or '') .. '|' .. sub(rec, 1, p2) .. day
      ks[key] = (ks[key] or 0) + (k2 - k)
      kq[key] = (kq[key] or 0) + (k2 * k2 - k * k)
      kx[key] = (kx[key] or 0) + x * (k2 - k)
      if bp then
        local pkey = '|' .. sub(rec, 1, p2) .. '#' .. bp
        pks[pkey] = (pks[pkey] or 0) + (k2 - k)
        pkq[pkey] = (pkq[pkey] or 0) + (k2 * k2 - k * k)
      end
      local head = sub(rec, 1, p3) .. (bp and bp .. '|' or '') .. (xs and xs .. '|' or '') ..
        (p and sub(rest, 1, p - 1) or rest)
      call('HSET', shard, visitor, k2 ~= t and head .. '|' .. format('%.17g', k2) or head)
      capped = capped + 1
    end
  end
end
-- Added as record.lua adds (read, sum in double, write "%.17g"), not with
-- HINCRBYFLOAT, whose long double sum would print differently.
local function add(field, v)
  if v ~= 0 then
    call('HSET', cnt, field, format('%.17g', (tonumber(call('HGET', cnt, field)) or 0) + v))
  end
end
for key, v in pairs(ks) do
  local bar = find(key, '|', 1, true)
  local pre, suffix = sub(key, 1, bar - 1), sub(key, bar)
  add(pre .. 'ks' .. suffix, v)
  add(pre .. 'kq' .. suffix, kq[key])
  add(pre .. 'kx' .. suffix, kx[key])
end
for pkey, v in pairs(pks) do
  add('ks' .. pkey, v)
  add('kq' .. pkey, pkq[pkey])
end
return capped
