"""Lua scripts for the hot counters (stock, flash claims). Each runs atomically inside Redis, so a
unit is taken exactly once however many nodes and clients race for it.

Keys: the idempotency key of the request, the counter (units left), the per-buyer hash (claims),
and the hash of reservations not yet persisted in SQL (reconciled on restart).
"""

from __future__ import annotations

# KEYS: idem, counter, taken, pending
# ARGV: qty, buyer, limit (0 = none), reservation id, draft json, request hash, idem ttl seconds
RESERVE = """
local prior = redis.call('GET', KEYS[1])
if prior then return {'dup', prior} end
local left = redis.call('GET', KEYS[2])
if not left then return {'unseeded', ''} end
left = tonumber(left)
local qty = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
if limit > 0 then
  local taken = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
  if taken + qty > limit then return {'limit', tostring(taken)} end
end
if left < qty then return {'sold_out', tostring(left)} end
if limit > 0 then redis.call('HINCRBY', KEYS[3], ARGV[2], qty) end
left = redis.call('DECRBY', KEYS[2], qty)
redis.call('SET', KEYS[1], ARGV[4] .. '|' .. ARGV[6], 'EX', tonumber(ARGV[7]))
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
return {'ok', tostring(left)}
"""

# Give units back (a cancelled order, or a reservation whose order could not be written).
# KEYS: counter, taken, idem (or ''), pending
# ARGV: qty, buyer, limit, reservation id (or '')
RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], tonumber(ARGV[1])) end
if tonumber(ARGV[3]) > 0 then
  local taken = redis.call('HINCRBY', KEYS[2], ARGV[2], -tonumber(ARGV[1]))
  if taken <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
end
if ARGV[4] ~= '' then
  redis.call('DEL', KEYS[3])
  redis.call('HDEL', KEYS[4], ARGV[4])
end
return 1
"""

# Seed a counter from SQL if nobody has yet (another node may have, and sold since).
# KEYS: counter, taken   ARGV: left, then buyer/taken pairs
SEED = """
if redis.call('SETNX', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# The operator adds or removes stock: only if the counter is seeded, and never below zero.
# KEYS: counter   ARGV: delta    -> 1 done, 0 unseeded (SQL alone decides), -1 not enough
ADJUST = """
local left = redis.call('GET', KEYS[1])
if not left then return 0 end
if tonumber(left) + tonumber(ARGV[1]) < 0 then return -1 end
redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
return 1
"""
