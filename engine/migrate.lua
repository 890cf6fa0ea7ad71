-- migrate.lua: moves one key of the old single-tag layout ({x:EXP}:...,
-- docs/redis.md "Upgrading") into the shard-group layout. Only a single
-- Redis ever held the old layout, so a call may touch keys of several
-- slots. store.c finds the old keys with SCAN and calls this once per key
-- (and again with the returned cursor for the two kinds moved in chunks)
-- before it applies any new event.
--
-- Every step is idempotent and atomic (a script runs whole or not at all),
-- so a migration cut short by a crash is simply run again:
--   'v'    KEYS[1] {x:EXP}:v:S, KEYS[2] the group's {x:EXP:G:N}:v:S.
--          RENAME when the target does not exist; else each record is
--          copied where the target has none (HSETNX) and the old key
--          deleted. Records keep their values: stickiness is kept.
--   'cnt'  KEYS[1] {x:EXP}:cnt, KEYS[2] group 0's {x:EXP:0:N}:cnt. RENAME,
--          or each field added (HINCRBY, HINCRBYFLOAT for revenue) and the
--          old key deleted, in the same call: counted once either way.
--   'ev'   KEYS[1] {x:EXP}:ev, KEYS[2..13] every group's {x:EXP:G:N}:ev.
--          An old id names no visitor, so it cannot be routed to its
--          group: each (id, token) is copied into every group (HSETNX), a
--          chunk of ARGV[2] (the HSCAN cursor) at a time; the old key is
--          deleted after the last chunk. Returns the next cursor, "0" when
--          done.
--   'ids'  KEYS[1] {x:EXP}:ids (the id set of versions before tokens),
--          KEYS[2..13] as for 'ev': each id copied as (id, "") into every
--          group, the token older lines without one carry, by SSCAN chunks.
-- Returns "0" (done) or the cursor to call again with.
local kind, old = ARGV[1], KEYS[1]
local call = redis.call
if call('EXISTS', old) == 0 then return '0' end

if kind == 'v' or kind == 'cnt' then
  local dest = KEYS[2]
  if call('EXISTS', dest) == 0 then
    call('RENAME', old, dest)
    return '0'
  end
  local flat = call('HGETALL', old)
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    if kind == 'v' then
      call('HSETNX', dest, f, v)
    else
      local metric = string.match(f, '^([^|]*)')
      if metric == 's' or metric == 'q' or metric == 'ps' or metric == 'pq' then
        call('HINCRBYFLOAT', dest, f, v)
      else
        call('HINCRBY', dest, f, v)
      end
    end
  end
  call('DEL', old)
  return '0'
end

-- 'ev' or 'ids': one chunk.
local reply
if kind == 'ev' then
  reply = call('HSCAN', old, ARGV[2], 'COUNT', 1000)
else
  reply = call('SSCAN', old, ARGV[2], 'COUNT', 1000)
end
local items = reply[2]
local step = kind == 'ev' and 2 or 1
for i = 1, #items, step do
  local id, token = items[i], kind == 'ev' and items[i + 1] or ''
  for g = 2, #KEYS do call('HSETNX', KEYS[g], id, token) end
end
if reply[1] == '0' then
  call('DEL', old)
end
return reply[1]
