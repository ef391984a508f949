/**
 * What authentication, authorization and the limiters cost, for the figures in docs/security.md.
 * Run: npx vitest bench --run test/auth/costs.bench.ts
 */
import {bench, describe} from 'vitest'
import {Acl} from '../../src/broker/auth/acl.js'
import {PasswordFile} from '../../src/broker/auth/password-file.js'
import {ConnectionRateLimiter} from '../../src/broker/limits/connection-rate.js'
import {PublishRateLimiter} from '../../src/broker/limits/publish-rate.js'

const scrypt = PasswordFile.parse('')
await scrypt.set('alice', 'pw')
// The hash mosquitto_passwd writes by default: PBKDF2-SHA512, 101 iterations.
const pbkdf2 = PasswordFile.parse('legacy:$7$101$vd4c0EzoG1oVt24t$N50M9vo2MoVOudbg/UF+wWusZRZGwIs7mvmjg1DBXuiJX+YfcfyCm4lntQMpE0+8ZMo7wG80d2DSFCWZ94wedA==\n')
const good = Buffer.from('pw')
const bad = Buffer.from('wrong')

describe('password check (one login)', () => {
  bench('scrypt N=16384 r=8 p=1, right password', async () => {
    await scrypt.verify('alice', good)
  })
  bench('scrypt, unknown user (dummy hash)', async () => {
    await scrypt.verify('nobody', bad)
  })
  bench('$7$ PBKDF2-SHA512 101 iterations', async () => {
    await pbkdf2.verify('legacy', bad)
  })
})

const rules = ['topic read public/#', 'user alice', 'topic readwrite alice/#', 'topic deny alice/secret/#', 'topic read sensors/+/temperature']
for (let i = 0; i < 50; i++) rules.push(`topic read extra/${i}/#`)
rules.push('pattern readwrite clients/%c/#', 'pattern read users/%u/#')
const acl = Acl.parse(rules.join('\n')).forClient('alice', 'dev-1')

describe('ACL decision (one delivery or publish), 57 rules', () => {
  bench('canRead, allowed by the 3rd rule', () => {
    acl.canRead('alice/kitchen/temp')
  })
  bench('canRead, refused after every rule', () => {
    acl.canRead('nowhere/at/all')
  })
  bench('canSubscribe, a pattern rule', () => {
    acl.canSubscribe('clients/dev-1/#')
  })
})

const limiter = new PublishRateLimiter({maxPublishRate: 1e12, maxPublishBytesRate: 1e15})
const connections = new ConnectionRateLimiter(1e9)
let n = 0
describe('limiters', () => {
  bench('publish rate check (messages and bytes)', () => {
    limiter.check(100)
  })
  bench('connection rate check, 65536 addresses', () => {
    connections.allow(`10.0.${(n >> 8) & 255}.${n++ & 255}`)
  })
})
