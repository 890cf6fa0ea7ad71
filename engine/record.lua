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
-- Revenue is kept per visitor in the visitor record so that the sums are
-- over visitors: a second order of total t with value v adds 2*t*v + v*v
-- to the sum of squares, which turns t^2 into (t+v)^2. The same record
-- keeps the cart value the visitor was exposed with (the covariate x of
-- the regression adjustment: each order adds x*v to the cross sum) and,
-- once the experiment caps revenue, what the visitor counts for under the
-- cap; the counters keep the capped figures as differences ("k" fields)
-- from the uncapped ones, so a visitor below the cap costs nothing extra.
--
-- KEYS[1] {x:EXP:G:N}:cnt    the group's counters (docs/redis.md); its
--                            field "cap" is the revenue cap in force
-- KEYS[2] {x:EXP:G:N}:ev     event id -> acknowledgment token of its counting
--                            line, " ", and the value: an order's amount, a
--                            refund's (negative), "-" for a decline
-- KEYS[3..] {x:EXP:G:N}:v:S  the visitor record shard of each event, in the
--                            order the events appear in ARGV below
-- ARGV, in four sections. Exposures dominate, so they are sent compactly:
-- grouped by what they write, one argument each, and their shard keys
-- follow from the order (no index to send or to convert with tonumber).
--   1. the experiment's configured cap ('' for none): "cap" is set to it
--      when the group has none yet (a cap, once set, is never changed here)
--   2. P, then P runs of exposures that create the same visitor record
--      ("VARIANT|REGION|" plus "p" when promoted, "VARIANT|REGION|b|PERIOD"
--      for a bandit's exposure in that period) and count in the same
--      counter fields ("e|VARIANT|REGION|DAY", "pe|..." when promoted, and
--      a bandit's period field "e|VARIANT|REGION|#PERIOD"): record, field,
--      period field ('' for none), K, then the K visitors
--   3. Q, then Q runs of exposures with a cart value, as above but the
--      record is its text up to the cart value ("VARIANT|REGION|x|",
--      "...|px|", "...|bx|PERIOD|") and the K visitors are K pairs:
--      visitor, cart value ("%.17g" or shorter)
--   4. conversions, declines and refunds, six arguments each: visitor,
--      event id, value (the amount as the store prints it; '-' marks a
--      decline, a negative amount a refund), day, acknowledgment token (''
--      for lines journaled before tokens), and the refunded order's event
--      id ('' unless a refund)
-- Returns a string with one status character per event in ARGV order:
-- '0' counted, '1' duplicate, '2' visitor never exposed, '3' replayed,
-- '4' a refund of an order the group never counted, or of more than
-- was left of it (one bulk reply instead of an array keeps the client
-- from allocating per event).
local cnt, ev = KEYS[1], KEYS[2]
local inc, incf, out = {}, {}, {} -- integer and float counter increments, statuses

local call, tonumber = redis.call, tonumber
local find, sub, format = string.find, string.sub, string.format
local a, k, nout = 3, 3, 0 -- next ARGV, next shard key, statuses so far
for _ = 1, tonumber(ARGV[2]) do
  local rec, field, pfield, count = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  a = a + 4
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
  if added > 0 then
    inc[field] = (inc[field] or 0) + added
    if pfield ~= '' then inc[pfield] = (inc[pfield] or 0) + added end
  end
end

-- With a cart value the record is "VARIANT|REGION|FLAGSx|X" (or
-- "VARIANT|REGION|bx|PERIOD|X"): the flag x says a cart value follows the
-- flags (and the period, if any).
local nq = tonumber(ARGV[a])
a = a + 1
for _ = 1, nq do
  local rec, field, pfield, count = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  a = a + 4
  local added, sx, sxx = 0, 0, 0
  for _ = 1, count do
    nout = nout + 1
    local x = ARGV[a + 1]
    if call('HSETNX', KEYS[k], ARGV[a], rec .. x) == 1 then
      added = added + 1
      local xv = tonumber(x)
      sx, sxx = sx + xv, sxx + xv * xv
      out[nout] = '0'
    else
      out[nout] = '1'
    end
    a, k = a + 2, k + 1
  end
  if added > 0 then
    -- field is "e|VARIANT|REGION|DAY" or "pe|...": the same cell's "xn",
    -- "xs" and "xq" (visitors with a cart value, its sum and square sum)
    local pre = sub(field, 1, 1) == 'p' and 'p' or ''
    local rest = sub(field, #pre + 2)
    inc[field] = (inc[field] or 0) + added
    if pfield ~= '' then inc[pfield] = (inc[pfield] or 0) + added end
    inc[pre .. 'xn' .. rest] = (inc[pre .. 'xn' .. rest] or 0) + added
    incf[pre .. 'xs' .. rest] = (incf[pre .. 'xs' .. rest] or 0) + sx
    incf[pre .. 'xq' .. rest] = (incf[pre .. 'xq' .. rest] or 0) + sxx
  end
end

local n = #ARGV
if a <= n then
  -- Conversions, declines and refunds accumulate per counter group: day,
  -- then the record's "VARIANT|REGION|" head, promoted or not, in nested
  -- tables (no string is built per event to look a group up). The counter
  -- field names are built once per group at the end. A bandit's visitor
  -- (a record with a period) also counts in the cohort of its period:
  -- the group of head .. '#' .. PERIOD, whose fields are
  -- "METRIC|VARIANT|REGION|#PERIOD" and which no day shares.
  local days, periods = {}, {}
  local cap = call('HGET', cnt, 'cap')
  if not cap and ARGV[1] ~= '' then
    cap = ARGV[1]
    call('HSET', cnt, 'cap', cap)
  end
  cap = cap and tonumber(cap)
  -- Whether this is the first application of a line with this token (lines
  -- without one, from before tokens, always count as first).
  local function first_time(token)
    return token == '' or call('HSETNX', ev, ' ' .. token, 1) == 1
  end
  -- Whether the id's stored entry is this token's ("TOKEN" or "TOKEN AMOUNT").
  local function same_token(stored, token)
    return stored == token or sub(stored, 1, #token + 1) == token .. ' '
  end
  local G_CONV, G_ORDERS, G_SUM, G_SQ, G_DECL, G_DECLN, G_XY = 3, 4, 5, 6, 7, 8, 9
  local G_KS, G_KQ, G_KX, G_REF, G_REFSUM = 10, 11, 12, 13, 14
  for j = a, n, 6 do
    local vkey, visitor, id, value, token, order =
      KEYS[k], ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 4], ARGV[j + 5]
    k = k + 1
    local status = '0'
    local refund = order ~= ''
    local rec = call('HGET', vkey, visitor)
    local ordered -- a refund's order entry in ev
    if refund and rec then
      ordered = call('HGET', ev, order)
      -- a decline's entry ("TOKEN -") names no order
      if ordered and sub(ordered, -2) == ' -' then ordered = nil end
    end
    if refund and token ~= '' and call('HEXISTS', ev, ' ' .. token) == 1 then
      -- this very line was refused (or not attributable) before: a replay
      -- must not count it now that its order may have landed
      status = '3'
    elseif not rec then
      -- Not attributable; the id is not consumed, so a retry after the
      -- exposure has landed still counts.
      if first_time(token) then
        status = '2'
        local f = refund and 'unexposed|r' or value == '-' and 'unexposed|d' or 'unexposed|c'
        inc[f] = (inc[f] or 0) + 1
      else
        status = '3'
      end
    elseif refund and not ordered then
      -- No such order in this group (yet): not consumed either.
      if first_time(token) then
        status = '4'
        inc['refund|rejected'] = (inc['refund|rejected'] or 0) + 1
      else
        status = '3'
      end
    elseif call('HSETNX', ev, id, token .. ' ' .. value) == 0 then
      if token ~= '' and same_token(call('HGET', ev, id), token) then
        status = '3' -- this very line counted the id before
      elseif first_time(token) then
        status = '1'
        inc.dup = (inc.dup or 0) + 1
      else
        status = '3' -- this line was a duplicate before, and counted as one
      end
    else
      -- rec is "VARIANT|REGION|FLAGS[|PERIOD][|X][|TOTAL[|CAPPED]]"
      -- (visitor_record.h): split at the bars with plain finds. Most
      -- records are a visitor just exposed, "VARIANT|REGION|": that case
      -- builds no substring at all.
      local p2 = find(rec, '|', find(rec, '|', 1, true) + 1, true)
      local head, flags, bp, xs, ts, ks = rec, '', nil, nil, nil, nil
      if p2 < #rec then
        head = sub(rec, 1, p2)
        local p3 = find(rec, '|', p2 + 1, true)
        flags = sub(rec, p2 + 1, (p3 or 0) - 1)
        local rest = p3 and sub(rec, p3 + 1)
        if rest and find(flags, 'b', 1, true) then
          local p = find(rest, '|', 1, true)
          bp = p and sub(rest, 1, p - 1) or rest
          rest = p and sub(rest, p + 1)
        end
        if rest and find(flags, 'x', 1, true) then
          local p = find(rest, '|', 1, true)
          xs = p and sub(rest, 1, p - 1) or rest
          rest = p and sub(rest, p + 1)
        end
        if rest then
          local p = find(rest, '|', 1, true)
          ts = p and sub(rest, 1, p - 1) or rest
          ks = p and sub(rest, p + 1)
        end
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
        g = {promoted and 'p' or '', head, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
        groups[head] = g
      end
      -- the period cohort's group: same sums, counted under the period
      local pg
      if bp then
        local pkey = head .. '#' .. bp
        pg = periods[pkey]
        if not pg then
          pg = {'', head, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, pkey}
          periods[pkey] = pg
        end
      end
      if value ~= '-' then
        local v = tonumber(value)
        if refund then
          -- What is left of the order: its amount less what earlier
          -- refunds took (an order counted before amounts were kept is
          -- bounded by the visitor's total alone).
          local sp = find(ordered, ' ', 1, true)
          local left = sp and tonumber(sub(ordered, sp + 1)) or math.huge
          local took = tonumber(call('HGET', ev, ' r ' .. order) or '0')
          local t = ts and tonumber(ts) or 0
          if -v > left - took + 1e-9 * left or -v > t + 1e-9 * t then
            -- Too much: the id stays consumed (a retry is a duplicate),
            -- and nothing else changes.
            status = '4'
            inc['refund|rejected'] = (inc['refund|rejected'] or 0) + 1
            v = nil
          else
            call('HSET', ev, ' r ' .. order, format('%.17g', took - v))
            g[G_REF] = g[G_REF] + 1
            g[G_REFSUM] = g[G_REFSUM] - v
            if pg then
              pg[G_REF] = pg[G_REF] + 1
              pg[G_REFSUM] = pg[G_REFSUM] - v
            end
          end
        end
        if v then
          local t = ts and tonumber(ts) or 0
          local t2 = t + v
          if t2 < 0 then t2 = 0 end -- rounding in a refund of everything
          local k1 = ks and tonumber(ks) or t
          local k2 = (cap and t2 > cap) and cap or t2
          local x = xs and tonumber(xs) or 0
          local first = not refund and not find(flags, 'c', 1, true)
          if first then flags = flags .. 'c' end
          local dk = (k2 - t2) - (k1 - t)
          local dq, dkq = t2 * t2 - t * t, (k2 * k2 - t2 * t2) - (k1 * k1 - t * t)
          if not refund then
            if first then g[G_CONV] = g[G_CONV] + 1 end
            g[G_ORDERS] = g[G_ORDERS] + 1
          end
          g[G_SUM] = g[G_SUM] + (t2 - t)
          g[G_SQ] = g[G_SQ] + dq
          g[G_XY] = g[G_XY] + x * (t2 - t)
          if dk ~= 0 then
            g[G_KS] = g[G_KS] + dk
            g[G_KQ] = g[G_KQ] + dkq
            g[G_KX] = g[G_KX] + x * dk
          end
          if pg then
            -- the period cohort: the same sums (its cart value sums are
            -- not kept, so neither are its cross sums)
            if not refund then
              if first then pg[G_CONV] = pg[G_CONV] + 1 end
              pg[G_ORDERS] = pg[G_ORDERS] + 1
            end
            pg[G_SUM] = pg[G_SUM] + (t2 - t)
            pg[G_SQ] = pg[G_SQ] + dq
            if dk ~= 0 then
              pg[G_KS] = pg[G_KS] + dk
              pg[G_KQ] = pg[G_KQ] + dkq
            end
          end
          -- A first order's total is the value as sent: no formatting.
          local ts2 = ts and format('%.17g', t2) or value
          local r = head .. flags .. (bp and '|' .. bp or '') .. (xs and '|' .. xs or '') .. '|' .. ts2
          if k2 ~= t2 then r = r .. '|' .. format('%.17g', k2) end
          call('HSET', vkey, visitor, r)
        end
      else
        if not find(flags, 'd', 1, true) then
          g[G_DECL] = g[G_DECL] + 1
          if pg then pg[G_DECL] = pg[G_DECL] + 1 end
          -- the flag goes with the others, before any cart value or total
          local p3 = find(rec, '|', p2 + 1, true)
          call('HSET', vkey, visitor, head .. flags .. 'd' .. (p3 and sub(rec, p3) or ''))
        end
        g[G_DECLN] = g[G_DECLN] + 1
        if pg then pg[G_DECLN] = pg[G_DECLN] + 1 end
      end
    end
    nout = nout + 1
    out[nout] = status
  end

  -- fields "[p]METRIC|VARIANT|REGION|DAY"; head is "VARIANT|REGION|";
  -- a period group's suffix is "|VARIANT|REGION|#PERIOD" (its key)
  local function flush_group(pre, suffix, g)
    if g[G_CONV] > 0 then inc[pre .. 'c' .. suffix] = g[G_CONV] end
    if g[G_ORDERS] > 0 then inc[pre .. 'o' .. suffix] = g[G_ORDERS] end
    if g[G_ORDERS] > 0 or g[G_REF] > 0 then
      incf[pre .. 's' .. suffix] = g[G_SUM]
      incf[pre .. 'q' .. suffix] = g[G_SQ]
      if g[G_XY] ~= 0 then incf[pre .. 'xy' .. suffix] = g[G_XY] end
      -- each on its own: several visitors' differences can cancel in
      -- one sum and not in another
      if g[G_KS] ~= 0 then incf[pre .. 'ks' .. suffix] = g[G_KS] end
      if g[G_KQ] ~= 0 then incf[pre .. 'kq' .. suffix] = g[G_KQ] end
      if g[G_KX] ~= 0 then incf[pre .. 'kx' .. suffix] = g[G_KX] end
    end
    if g[G_REF] > 0 then
      inc[pre .. 'r' .. suffix] = g[G_REF]
      incf[pre .. 'rs' .. suffix] = g[G_REFSUM]
    end
    if g[G_DECL] > 0 then inc[pre .. 'd' .. suffix] = g[G_DECL] end
    if g[G_DECLN] > 0 then inc[pre .. 'dn' .. suffix] = g[G_DECLN] end
  end
  for day, both in pairs(days) do
    for _, groups in ipairs(both) do
      for _, g in pairs(groups) do flush_group(g[1], '|' .. g[2] .. day, g) end
    end
  end
  for pkey, g in pairs(periods) do flush_group('', '|' .. pkey, g) end
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
