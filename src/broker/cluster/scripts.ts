/**
 * The Lua scripts that make ownership atomic in Redis (one script runs alone on the server). They build key names
 * from the prefix in KEYS[1], which is fine on one Redis (or a Sentinel-managed master) and is why Redis Cluster is
 * not supported yet (docs/cluster.md). Hand-written: these are the cluster protocol itself.
 */
import type {Redis} from 'ioredis'

/**
 * XADD to a node's inbox, or to its adopter's when the node died and was adopted (followed up to 8 hops); the
 * entry then carries `via` so the adopter delivers it only to sessions it adopted.
 * KEYS[1] prefix; ARGV[1] target inc; ARGV[2..] field, value pairs.
 */
const ROUTE = `
local base = KEYS[1]
local target = ARGV[1]
local via = nil
for i = 1, 8 do
  local adopter = redis.call('GET', base .. 'sealed:' .. target)
  if not adopter then break end
  via = via or target
  target = adopter
end
local args = {}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
if via then
  args[#args + 1] = 'via'
  args[#args + 1] = via
end
return redis.call('XADD', base .. 'inbox:' .. target, '*', unpack(args))
`

/**
 * Who holds a client's session. ARGV[1] client id, ARGV[2] my inc. Returns {'self'}, {'new'} (now mine),
 * {'live', inc} (ask it to release), {'dead', inc} (adopt it first) or {'retry'} (an adoption is moving it).
 */
const CLAIM = `
local base = KEYS[1]
local owner = redis.call('HGET', base .. 'owner', ARGV[1])
if owner == ARGV[2] then return {'self'} end
if owner then
  if redis.call('EXISTS', base .. 'sealed:' .. owner) == 1 then return {'retry'} end
  if redis.call('EXISTS', base .. 'lease:' .. owner) == 1 then return {'live', owner} end
  return {'dead', owner}
end
redis.call('HSET', base .. 'owner', ARGV[1], ARGV[2])
redis.call('SADD', base .. 'members:' .. ARGV[2], ARGV[1])
return {'new'}
`

/**
 * Adopts a dead incarnation: only when its lease is gone (or ARGV[3] = '1': our own earlier incarnation), and only
 * once (the seal is set with NX). Moves its members to me and returns them; false when not adopted.
 * ARGV[1] dead inc, ARGV[2] my inc, ARGV[3] force.
 */
const ADOPT = `
local base = KEYS[1]
local dead = ARGV[1]
local me = ARGV[2]
if ARGV[3] ~= '1' and redis.call('EXISTS', base .. 'lease:' .. dead) == 1 then return false end
if not redis.call('SET', base .. 'sealed:' .. dead, me, 'NX', 'EX', 86400) then return false end
redis.call('DEL', base .. 'lease:' .. dead)
local members = redis.call('SMEMBERS', base .. 'members:' .. dead)
for _, c in ipairs(members) do
  if redis.call('HGET', base .. 'owner', c) == dead then
    redis.call('HSET', base .. 'owner', c, me)
    redis.call('SADD', base .. 'members:' .. me, c)
  end
end
redis.call('DEL', base .. 'members:' .. dead)
redis.call('HDEL', base .. 'nodes', dead)
return members
`

/** Renews my lease unless I was adopted meanwhile (returns 0: fenced). ARGV[1] my inc, ARGV[2] lease ms. */
const RENEW = `
local base = KEYS[1]
if redis.call('EXISTS', base .. 'sealed:' .. ARGV[1]) == 1 then return 0 end
redis.call('SET', base .. 'lease:' .. ARGV[1], '1', 'PX', ARGV[2])
return 1
`

export interface ClusterRedis extends Redis {
  mqttkitRoute(prefix: string, target: string, ...fields: Array<string | Buffer>): Promise<string>
  mqttkitClaim(prefix: string, clientId: string, me: string): Promise<string[]>
  mqttkitAdopt(prefix: string, dead: string, me: string, force: string): Promise<string[] | null>
  mqttkitRenew(prefix: string, me: string, ms: string): Promise<number>
}

/** Defines the scripts on a connection (EVALSHA, loaded on first use; also inside MULTI). */
export function scripts__define(redis: Redis): ClusterRedis {
  redis.defineCommand('mqttkitRoute', {numberOfKeys: 1, lua: ROUTE})
  redis.defineCommand('mqttkitClaim', {numberOfKeys: 1, lua: CLAIM})
  redis.defineCommand('mqttkitAdopt', {numberOfKeys: 1, lua: ADOPT})
  redis.defineCommand('mqttkitRenew', {numberOfKeys: 1, lua: RENEW})
  return redis as ClusterRedis
}
