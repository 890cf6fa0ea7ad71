-- record.lua: applies one batch of journal events of ONE experiment.
--
-- Idempotent by construction, so that replaying the journal after a crash
-- counts every event exactly once (a script runs atomically):
--   * an exposure counts only when the visitor has no record yet; the
--     record is then created (first exposure wins, and fixes the visitor's
--     variant: stickiness);
--   * a conversion or decline counts only when SADD adds its event id.
-- Revenue is kept per visitor in the visitor record so that the sum of
-- squares is over visitors: a second order of total t with value v adds
-- 2*t*v + v*v, which turns t^2 into (t+v)^2.
--
-- KEYS[1] {x:EXP}:cnt   counters (docs/redis.md)
-- KEYS[2] {x:EXP}:ids   event ids seen
-- KEYS[3..] {x:EXP}:v:N visitor record shards
-- ARGV, in three sections (exposures dominate, so they are sent compactly):
--   P, then P pairs (record, field): the visitor record an exposure creates
--      ("VARIANT|REGION|" plus "p" when promoted) and the counter field it
--      increments ("e|VARIANT|REGION|DAY", "pe|..." when promoted); a batch
--      has only a few distinct pairs
--   X, then X exposures as (shard key index, visitor, pair index)
--   then conversions and declines, six arguments each:
--      type ('C' or 'D'), shard key index, visitor, event id, value ('-' for
--      a decline), day
-- Returns a string with one status character per event, exposures first:
-- '0' counted, '1' duplicate, '2' visitor never exposed (one bulk reply
-- instead of an array keeps the client from allocating per event).
local cnt, ids = KEYS[1], KEYS[2]
local inc, incf, out = {}, {}, {}
local function add(t, f, v) t[f] = (t[f] or 0) + v end

local call, tonumber = redis.call, tonumber
local npairs = tonumber(ARGV[1])
local nexp = tonumber(ARGV[2 + 2 * npairs])
local first = 3 + 2 * npairs

local pair_count = {}
for n = 1, nexp do
  local j = first + 3 * (n - 1)
  local pair = tonumber(ARGV[j + 2])
  if call('HSETNX', KEYS[tonumber(ARGV[j])], ARGV[j + 1], ARGV[2 * pair]) == 1 then
    pair_count[pair] = (pair_count[pair] or 0) + 1
    out[n] = '0'
  else
    out[n] = '1'
  end
end
for pair, n in pairs(pair_count) do add(inc, ARGV[2 * pair + 1], n) end
local i, nout = first + 3 * nexp, nexp

for j = i, #ARGV, 6 do
  local typ, vkey, visitor = ARGV[j], KEYS[tonumber(ARGV[j + 1])], ARGV[j + 2]
  local a, b, day = ARGV[j + 3], ARGV[j + 4], ARGV[j + 5]
  local status = '0'
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
  nout = nout + 1
  out[nout] = status
end

for f, v in pairs(inc) do redis.call('HINCRBY', cnt, f, v) end
for f, v in pairs(incf) do redis.call('HINCRBYFLOAT', cnt, f, string.format('%.17g', v)) end
return table.concat(out)
