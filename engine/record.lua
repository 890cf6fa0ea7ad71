-- record.lua: applies one batch of journal events of ONE experiment and
-- ONE shard group (engine/core/keys.h): every key it touches carries the
-- group's hash tag, so the call runs on one Redis Cluster slot.
--
-- Idempotent by construction, so that replaying the journal after a crash
-- counts every event exactly once (a script runs atomically):
--   * an exposure counts only when the visitor has no record yet; the
--     record is then created (first exposure wins, and fixes the visitor's
--     variant: stickiness);
--   * a conversion or decline counts only when its event id is new in the
--     group (ids are per visitor's group: docs/redis.md): HSETNX stores it
--     with the acknowledgment token of the journal line that carried it.
--     The same id again with the same token is that line applied a second
--     time (a replay: status '3', counted nowhere); with another token it
--     is a client sending the id twice (status '1', counted in 'dup'). A
--     line that only bumps an integrity counter (a duplicate, or a visitor
--     never exposed) leaves its token as the field " TOKEN" (a space never
--     starts an event id), so its replay is recognised too.
-- Revenue is kept per visitor in the visitor record so that the sum of
-- squares is over visitors: a second order of total t with value v adds
-- 2*t*v + v*v, which turns t^2 into (t+v)^2.
--
-- KEYS[1] {x:EXP:G:N}:cnt    the group's counters (docs/redis.md)
-- KEYS[2] {x:EXP:G:N}:ev     event id -> acknowledgment token of its counting line
-- KEYS[3..] {x:EXP:G:N}:v:S  the visitor record shard of each event, in the
--                            order the events appear in ARGV below
-- ARGV, in two sections. Exposures dominate, so they are sent compactly:
-- grouped by what they write, one argument each, and their shard keys
-- follow from the order (no index to send or to convert with tonumber).
--   P, then P runs of exposures that create the same visitor record
--      ("VARIANT|REGION|" plus "p" when promoted) and count in the same
--      counter field ("e|VARIANT|REGION|DAY", "pe|..." when promoted):
--      record, field, K, then the K visitors
--   then conversions and declines, five arguments each: visitor, event
--      id, value (the amount printed "%.17g"; '-' marks a decline), day,
--      acknowledgment token ('' for lines journaled before tokens)
-- Returns a string with one status character per event in ARGV order:
-- '0' counted, '1' duplicate, '2' visitor never exposed, '3' replayed (one
-- bulk reply instead of an array keeps the client from allocating per
-- event).
local cnt, ev = KEYS[1], KEYS[2]
local inc, incf, out = {}, {}, {} -- integer and float counter increments, statuses

local call, tonumber = redis.call, tonumber
local a, k, nout = 2, 3, 0 -- next ARGV, next shard key, statuses so far
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
  if added > 0 then inc[field] = (inc[field] or 0) + added end
end

local n = #ARGV
if a <= n then
  -- Conversions and declines accumulate per counter group: day, then the
  -- record's "VARIANT|REGION|" head, promoted or not, in nested tables
  -- (no string is built per event to look a group up). The counter field
  -- names are built once per group at the end.
  local days = {}
  local find, sub, format = string.find, string.sub, string.format
  -- Whether this is the first application of a line with this token (lines
  -- without one, from before tokens, always count as first).
  local function first_time(token)
    return token == '' or call('HSETNX', ev, ' ' .. token, 1) == 1
  end
  for j = a, n, 5 do
    local vkey, visitor, id, value, token = KEYS[k], ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 4]
    k = k + 1
    local status = '0'
    local rec = call('HGET', vkey, visitor)
    if not rec then
      -- Not attributable; the id is not consumed, so a retry after the
      -- exposure has landed still counts.
      if first_time(token) then
        status = '2'
        local f = value == '-' and 'unexposed|d' or 'unexposed|c'
        inc[f] = (inc[f] or 0) + 1
      else
        status = '3'
      end
    elseif call('HSETNX', ev, id, token) == 0 then
      if token ~= '' and call('HGET', ev, id) == token then
        status = '3' -- this very line counted the id before
      elseif first_time(token) then
        status = '1'
        inc.dup = (inc.dup or 0) + 1
      else
        status = '3' -- this line was a duplicate before, and counted as one
      end
    else
      -- rec is "VARIANT|REGION|FLAGS[|TOTAL]" (visitor_record.h): split at
      -- the second and third bars with plain finds. Most records are a
      -- visitor just exposed, "VARIANT|REGION|": that case builds no
      -- substring at all.
      local p2 = find(rec, '|', find(rec, '|', 1, true) + 1, true)
      local head, flags, p3 = rec, '', nil
      if p2 < #rec then
        p3 = find(rec, '|', p2 + 1, true)
        head = sub(rec, 1, p2)
        flags = sub(rec, p2 + 1, (p3 or 0) - 1)
      end
      local promoted = flags ~= '' and find(flags, 'p', 1, true) ~= nil
      local day = ARGV[j + 3]
      local groups = days[day]
      if not groups then
        groups = {{}, {}} -- not promoted, promoted
        days[day] = groups
      end
      groups = groups[promoted and 2 or 1]
      local g = groups[head]
      if not g then
        g = {promoted and 'p' or '', head, 0, 0, 0, 0, 0, 0}
        groups[head] = g
      end
      if value ~= '-' then
        local v = tonumber(value)
        if not p3 then
          -- No revenue yet: the new total is the value itself, which the
          -- store sends printed "%.17g" already.
          if not find(flags, 'c', 1, true) then
            flags = flags .. 'c'
            g[3] = g[3] + 1
          end
          g[6] = g[6] + v * v
          call('HSET', vkey, visitor, head .. flags .. '|' .. value)
        else
          local t = tonumber(sub(rec, p3 + 1))
          g[6] = g[6] + 2 * t * v + v * v
          call('HSET', vkey, visitor, head .. flags .. '|' .. format('%.17g', t + v))
        end
        g[4] = g[4] + 1
        g[5] = g[5] + v
      else
        if not find(flags, 'd', 1, true) then
          g[7] = g[7] + 1
          call('HSET', vkey, visitor, head .. flags .. 'd' .. (p3 and sub(rec, p3) or ''))
        end
        g[8] = g[8] + 1
      end
    end
    nout = nout + 1
    out[nout] = status
  end

  for day, both in pairs(days) do
    for _, groups in ipairs(both) do
      for _, g in pairs(groups) do
        -- fields "[p]METRIC|VARIANT|REGION|DAY"; head is "VARIANT|REGION|"
        local pre, suffix = g[1], '|' .. g[2] .. day
        if g[3] > 0 then inc[pre .. 'c' .. suffix] = g[3] end
        if g[4] > 0 then
          inc[pre .. 'o' .. suffix] = g[4]
          incf[pre .. 's' .. suffix] = g[5]
          incf[pre .. 'q' .. suffix] = g[6]
        end
        if g[7] > 0 then inc[pre .. 'd' .. suffix] = g[7] end
        if g[8] > 0 then inc[pre .. 'dn' .. suffix] = g[8] end
      end
    end
  end
end

-- Every counter in two calls, whatever their number: one HMGET of the
-- fields, one HSET of the sums (an HINCRBY or HINCRBYFLOAT each cost a
-- call per field, and the float one formats in long double). Integers stay
-- exact in a Lua number up to 2^53 and are printed with %d; revenue sums in
-- double, printed %.17g so that they read back exactly.
local fields, nf = {}, 0
for f in pairs(inc) do nf = nf + 1; fields[nf] = f end
local nint = nf
for f in pairs(incf) do nf = nf + 1; fields[nf] = f end
-- One HMGET and one HSET per slice of up to 1,000 fields: unpack() puts
-- every argument on Lua's C stack, which holds about 8,000, and a batch
-- spread over many regions, variants and days can touch more fields than
-- that (a script that failed on it would be replayed forever).
local format = string.format
for lo = 1, nf, 1000 do
  local hi = lo + 999
  if hi > nf then hi = nf end
  local old = call('HMGET', cnt, unpack(fields, lo, hi))
  local set = {}
  for x = lo, hi do
    local f, i = fields[x], 2 * (x - lo)
    set[i + 1] = f
    if x <= nint then
      set[i + 2] = format('%d', (tonumber(old[x - lo + 1]) or 0) + inc[f])
    else
      set[i + 2] = format('%.17g', (tonumber(old[x - lo + 1]) or 0) + incf[f])
    end
  end
  call('HSET', cnt, unpack(set))
end
return table.concat(out)
