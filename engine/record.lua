-- record.lua: applies one batch of journal events of ONE experiment.
--
-- Idempotent by construction, so that replaying the journal after a crash
-- counts every event exactly once:
--   * an exposure counts only when HSETNX creates the visitor's record
--     (first exposure wins, and fixes the visitor's variant: stickiness);
--   * a conversion or decline counts only when SADD adds its event id.
-- Revenue is kept per visitor in the visitor record so that the sum of
-- squares is over visitors: a second order of total t with value v adds
-- 2*t*v + v*v, which turns t^2 into (t+v)^2.
--
-- KEYS[1] {x:EXP}:cnt   counters (docs/redis.md)
-- KEYS[2] {x:EXP}:ids   event ids seen
-- KEYS[3..] {x:EXP}:v:N visitor record shards
-- ARGV: six per event: type, index into KEYS of the shard, visitor, a, b, day
--   E  exposure: a = the visitor record to create ("VARIANT|REGION|" plus
--      "p" when promoted), b = the counter field to increment
--      ("e|VARIANT|REGION|DAY", or "pe|..." when promoted); both are built
--      by the caller so the hot path does no string work here
--   C  conversion: a = event id, b = order value
--   D  decline: a = event id, b = '-'
-- Returns a string with one status character per event: '0' counted,
-- '1' duplicate, '2' visitor never exposed (one bulk reply instead of an
-- array keeps the client from allocating a reply object per event).
local cnt, ids = KEYS[1], KEYS[2]
local inc, incf, out = {}, {}, {}
local function add(t, f, v) t[f] = (t[f] or 0) + v end

for i = 1, #ARGV, 6 do
  local typ, vkey, visitor = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]
  local a, b, day = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local status = '0'
  if typ == 'E' then
    if redis.call('HSETNX', vkey, visitor, a) == 1 then
      add(inc, b, 1)
    else
      status = '1'
    end
  else
    local rec = redis.call('HGET', vkey, visitor)
    if not rec then
      -- Not attributable; the id is not consumed, so a retry after the
      -- exposure has landed still counts.
      status = '2'
      add(inc, typ == 'C' and 'unexposed|c' or 'unexposed|d', 1)
    elseif redis.call('SADD', ids, a) == 0 then
      status = '1'
      add(inc, 'dup', 1)
    else
      local vi, region, flags, total = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|?(.*)$')
      local pre = string.find(flags, 'p', 1, true) and 'p' or ''
      local suffix = '|' .. vi .. '|' .. region .. '|' .. day
      if typ == 'C' then
        local v, t = tonumber(b), tonumber(total) or 0
        if not string.find(flags, 'c', 1, true) then
          flags = flags .. 'c'
          add(inc, pre .. 'c' .. suffix, 1)
        end
        add(inc, pre .. 'o' .. suffix, 1)
        add(incf, pre .. 's' .. suffix, v)
        add(incf, pre .. 'q' .. suffix, 2 * t * v + v * v)
        total = string.format('%.17g', t + v)
      else
        if not string.find(flags, 'd', 1, true) then
          flags = flags .. 'd'
          add(inc, pre .. 'd' .. suffix, 1)
        end
        add(inc, pre .. 'dn' .. suffix, 1)
      end
      local value = vi .. '|' .. region .. '|' .. flags
      if total ~= '' then value = value .. '|' .. total end
      redis.call('HSET', vkey, visitor, value)
    end
  end
  out[#out + 1] = status
end

for f, v in pairs(inc) do redis.call('HINCRBY', cnt, f, v) end
for f, v in pairs(incf) do redis.call('HINCRBYFLOAT', cnt, f, string.format('%.17g', v)) end
return table.concat(out)
