-- The record script of the versions before shard groups, kept unchanged so
-- that tests/integration/test_upgrade_layout.py can write data the way a
-- Redis being upgraded holds it. Never loaded by upshotd.
-- record.lua: applies one batch of journal events of ONE experiment.
--
-- Idempotent by construction, so that replaying the journal after a crash
-- counts every event exactly once (a script runs atomically):
--   * an exposure counts only when the visitor has no record yet; the
--     record is then created (first exposure wins, and fixes the visitor's
--     variant: stickiness);
--   * a conversion or decline counts only when its event id is new: HSETNX
--     stores it with the acknowledgment token of the journal line that
--     carried it. The same id again with the same token is that line
--     applied a second time (a replay: status '3', counted nowhere); with
--     another token it is a client sending the id twice (status '1',
--     counted in 'dup'). A line that only bumps an integrity counter (a
--     duplicate, or a visitor never exposed) leaves its token as the field
--     " TOKEN" (a space never starts an event id), so its replay is
--     recognised too.
-- Revenue is kept per visitor in the visitor record so that the sum of
-- squares is over visitors: a second order of total t with value v adds
-- 2*t*v + v*v, which turns t^2 into (t+v)^2.
--
-- KEYS[1] {x:EXP}:cnt   counters (docs/redis.md)
-- KEYS[2] {x:EXP}:ev    event id -> acknowledgment token of its counting line
-- KEYS[3] {x:EXP}:ids   the event id set older versions kept: an id in it
--                       is a duplicate too (read only while the key exists)
-- KEYS[4..] {x:EXP}:v:N the visitor record shard of each event, in the
--                       order the events appear in ARGV below
-- ARGV, in two sections. Exposures dominate, so they are sent compactly:
-- grouped by what they write, one argument each, and their shard keys
-- follow from the order (no index to send or to convert with tonumber).
--   G, then G groups of exposures that create the same visitor record
--      ("VARIANT|REGION|" plus "p" when promoted) and count in the same
--      counter field ("e|VARIANT|REGION|DAY", "pe|..." when promoted):
--      record, field, K, then the K visitors
--   then conversions and declines, six arguments each:
--      type ('C' or 'D'), visitor, event id, value ('-' for a decline), day,
--      acknowledgment token ('' for lines journaled before tokens)
-- Returns a string with one status character per event in ARGV order:
-- '0' counted, '1' duplicate, '2' visitor never exposed, '3' replayed (one
-- bulk reply instead of an array keeps the client from allocating per
-- event).
local cnt, ev, legacy_ids = KEYS[1], KEYS[2], KEYS[3]
local inc, incf, out = {}, {}, {}
local function add(t, f, v) t[f] = (t[f] or 0) + v end

local call, tonumber = redis.call, tonumber
local a, k, nout = 2, 4, 0 -- next ARGV, next shard key, statuses so far
for _ = 1, tonumber(ARGV[1]) do
  local rec, field, count = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local added = 0
  for _ = 1, count do
    nout = nout + 1
    if call('HSETNX', KEYS[k], ARGV[a], rec) == 1 then
      added = added + 1
      out[nout] = '0'
    else
      out[nout] = '1'
    end
    a, k = a + 1, k + 1
  end
  if added > 0 then add(inc, field, added) end
end
local i = a

-- Conversions and declines accumulate per group (promoted or not, variant,
-- region, day) in a table; the counter field names are built once per
-- group at the end instead of four string concatenations per event.
local groups_cd = {}
local find, match, format = string.find, string.match, string.format
local has_legacy = i <= #ARGV and call('EXISTS', legacy_ids) == 1
-- Whether this is the first application of a line with this token (lines
-- without one, from before tokens, always count as first).
local function first_time(token)
  return token == '' or call('HSETNX', ev, ' ' .. token, 1) == 1
end
for j = i, #ARGV, 6 do
  local typ, vkey, visitor = ARGV[j], KEYS[k], ARGV[j + 1]
  local id, token = ARGV[j + 2], ARGV[j + 5]
  k = k + 1
  local status = '0'
  local rec = call('HGET', vkey, visitor)
  if not rec then
    -- Not attributable; the id is not consumed, so a retry after the
    -- exposure has landed still counts.
    if first_time(token) then
      status = '2'
      add(inc, typ == 'C' and 'unexposed|c' or 'unexposed|d', 1)
    else
      status = '3'
    end
  elseif (has_legacy and call('SISMEMBER', legacy_ids, id) == 1) or
         call('HSETNX', ev, id, token) == 0 then
    if token ~= '' and call('HGET', ev, id) == token then
      status = '3' -- this very line counted the id before
    elseif first_time(token) then
      status = '1'
      add(inc, 'dup', 1)
    else
      status = '3' -- this line was a duplicate before, and counted as one
    end
  else
    local vi, region, flags, total = match(rec, '^([^|]*)|([^|]*)|([^|]*)|?(.*)$')
    local gkey = (find(flags, 'p', 1, true) and 'p|' or '|') .. vi .. '|' .. region .. '|' .. ARGV[j + 4]
    local g = groups_cd[gkey]
    if not g then
      g = {c = 0, o = 0, s = 0, q = 0, d = 0, dn = 0}
      groups_cd[gkey] = g
    end
    if typ == 'C' then
      local v, t = tonumber(ARGV[j + 3]), tonumber(total) or 0
      if not find(flags, 'c', 1, true) then
        flags = flags .. 'c'
        g.c = g.c + 1
      end
      g.o = g.o + 1
      g.s = g.s + v
      g.q = g.q + 2 * t * v + v * v
      total = format('%.17g', t + v)
    else
      if not find(flags, 'd', 1, true) then
        flags = flags .. 'd'
        g.d = g.d + 1
      end
      g.dn = g.dn + 1
    end
    local value = vi .. '|' .. region .. '|' .. flags
    if total ~= '' then value = value .. '|' .. total end
    call('HSET', vkey, visitor, value)
  end
  nout = nout + 1
  out[nout] = status
end

for gkey, g in pairs(groups_cd) do
  -- gkey is "p|VARIANT|REGION|DAY" (promoted) or "|VARIANT|REGION|DAY"
  local pre, suffix = '', gkey
  if string.sub(gkey, 1, 1) == 'p' then pre, suffix = 'p', string.sub(gkey, 2) end
  if g.c > 0 then add(inc, pre .. 'c' .. suffix, g.c) end
  if g.o > 0 then
    add(inc, pre .. 'o' .. suffix, g.o)
    add(incf, pre .. 's' .. suffix, g.s)
    add(incf, pre .. 'q' .. suffix, g.q)
  end
  if g.d > 0 then add(inc, pre .. 'd' .. suffix, g.d) end
  if g.dn > 0 then add(inc, pre .. 'dn' .. suffix, g.dn) end
end

for f, v in pairs(inc) do call('HINCRBY', cnt, f, v) end
for f, v in pairs(incf) do call('HINCRBYFLOAT', cnt, f, format('%.17g', v)) end
return table.concat(out)
