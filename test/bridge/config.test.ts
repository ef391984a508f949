/** Bridge config checking, mosquitto topic lines, prefix mapping, backoff and the loop path, without sockets. */
import {describe, expect, it} from 'vitest'
import {bridge__checkList, bridge__fromFlags, bridge__parseTopicLine} from '../../src/broker/bridge/config.js'
import {path__in, path__out, PATH_PROPERTY} from '../../src/broker/bridge/path.js'
import {remote__backoff} from '../../src/broker/bridge/remote.js'
import {BridgeRules, rule__matches} from '../../src/broker/bridge/rules.js'

describe('bridge config', () => {
  it("reads mosquitto's topic line form with its defaults and quoted empty prefixes", () => {
    expect(bridge__parseTopicLine('sensors/#', 'x')).toEqual({pattern: 'sensors/#', direction: 'out', qos: 0, localPrefix: '', remotePrefix: ''})
    expect(bridge__parseTopicLine('cmd/# in 1 "" site1/', 'x')).toEqual({pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: '', remotePrefix: 'site1/'})
    expect(bridge__parseTopicLine('sensors/# both 2 local/ remote/', 'x')).toMatchObject({direction: 'both', qos: 2, localPrefix: 'local/', remotePrefix: 'remote/'})
    expect(() => bridge__parseTopicLine('a/# out 1 "unterminated', 'x')).toThrow(/cannot read topic rule/)
    expect(() => bridge__parseTopicLine('a/# out one', 'x')).toThrow(/x\.qos must be 0, 1 or 2, got "one"/)
    expect(() => bridge__parseTopicLine('a/# out 1 lo+/ r/', 'x')).toThrow(/x\.localPrefix must not contain \+ or #/)
    expect(() => bridge__parseTopicLine('a/#/b', 'x')).toThrow(/not a valid topic filter/)
  })

  it('checks every field of an entry and names it', () => {
    const ok = bridge__checkList([{name: 'cloud', url: 'mqtts://h:8883', 'protocol-version': '3.1.1', clean: true, topics: [{pattern: 'a/#', direction: 'in', qos: 1, remotePrefix: 's/'}]}])
    expect(ok[0]).toMatchObject({name: 'cloud', urls: ['mqtts://h:8883'], protocolVersion: 4, clean: true, maxQueued: 10_000, reconnectBase: 500, reconnectCap: 30_000})
    expect(ok[0]!.topics[0]).toEqual({pattern: 'a/#', direction: 'in', qos: 1, localPrefix: '', remotePrefix: 's/'})
    const bad: Array<[unknown, RegExp]> = [
      [{url: 'mqtt://h', topics: ['a']}, /bridges\[0\]\.name must be/],
      [{name: 'a b', url: 'mqtt://h', topics: ['a']}, /bridges\[0\]\.name must be/],
      [{name: 'c', topics: ['a']}, /bridge "c" \(bridges\[0\]\): give either url or urls/],
      [{name: 'c', urls: [], topics: ['a']}, /urls must be a non-empty list/],
      [{name: 'c', urls: ['mqtt://h', 'ftp://h'], topics: ['a']}, /urls\[1\]: unsupported scheme ftp:/],
      [{name: 'c', url: 'mqtt://h', topics: []}, /topics must be a non-empty list/],
      [{name: 'c', url: 'mqtt://h', protocolVersion: 3, topics: ['a']}, /protocolVersion must be 5 or 3\.1\.1, got 3/],
      [{name: 'c', url: 'mqtt://h', maxQueued: -1, topics: ['a']}, /maxQueued must be an integer from 0/],
      [{name: 'c', url: 'mqtt://h', clean: 'no', topics: ['a']}, /clean must be true or false/],
      [{name: 'c', url: 'mqtt://h', reconnectBase: 5000, reconnectCap: 1000, topics: ['a']}, /reconnectCap \(1000\) must not be below reconnectBase/],
      [{name: 'c', url: 'mqtt://h', topics: [{pattern: 'a', qos: 1, dir: 'in'}]}, /topics\[0\]: unknown field "dir"/],
    ]
    for (const [entry, message] of bad) expect(() => bridge__checkList([entry]), JSON.stringify(entry)).toThrow(message)
    expect(() => bridge__checkList([{name: 'c', url: 'mqtt://h', topics: ['a']}, {name: 'c', url: 'mqtt://h', topics: ['b']}])).toThrow(/bridges\[1\]\): the name is used by an earlier entry/)
    expect(() => bridge__checkList({name: 'c'})).toThrow(/bridges must be a list/)
  })

  it('flags add bridges and rules, and replace a file bridge URL', () => {
    const file = bridge__checkList([{name: 'cloud', url: 'mqtt://a:1883', topics: ['x/# out 1']}])
    const all = bridge__fromFlags(file, ['cloud=mqtt://b:1883', 'edge=ws://e:8083/mqtt'], ['cloud=y/# in 1', 'edge=z/# both 2 l/ r/'])
    expect(all.map((b) => [b.name, b.urls, b.topics.map((t) => t.pattern)])).toEqual([
      ['cloud', ['mqtt://b:1883'], ['x/#', 'y/#']],
      ['edge', ['ws://e:8083/mqtt'], ['z/#']],
    ])
    expect(() => bridge__fromFlags([], ['edge=mqtt://e'], [])).toThrow(/--bridge edge: no topic rules/)
    expect(() => bridge__fromFlags([], ['mqtt://e'], [])).toThrow(/expected NAME=URL/)
  })
})

describe('bridge rules', () => {
  it('map topics between prefixes and match like subscriptions', () => {
    const rules = new BridgeRules([bridge__parseTopicLine('sensors/# both 1 local/ remote/', 'x'), bridge__parseTopicLine('cmd/+ in 0 "" site/', 'x')])
    const out = rules.outgoing('local/sensors/a/b')!
    expect(BridgeRules.toRemote(out, 'local/sensors/a/b')).toBe('remote/sensors/a/b')
    const inn = rules.incoming('site/cmd/reboot')!
    expect(BridgeRules.toLocal(inn, 'site/cmd/reboot')).toBe('cmd/reboot')
    expect(rules.outgoing('cmd/reboot')).toBeUndefined()
    expect(rules.incoming('site/cmd/a/b')).toBeUndefined()
    // [MQTT-4.7.2-1] a leading wildcard does not match $ topics.
    expect(rule__matches('#', '$SYS/broker/uptime')).toBe(false)
    expect(rule__matches('+/broker/#', '$SYS/broker/uptime')).toBe(false)
    expect(rule__matches('$SYS/#', '$SYS/broker/uptime')).toBe(true)
    expect(rule__matches('a/#', 'a')).toBe(true)
  })
})

describe('bridge reconnect backoff', () => {
  it('doubles from the base up to the cap, each delay jittered between half and all of it', () => {
    expect(remote__backoff(1, 500, 30_000, () => 0)).toBe(250)
    expect(remote__backoff(1, 500, 30_000, () => 1)).toBe(500)
    expect(remote__backoff(3, 500, 30_000, () => 1)).toBe(2000)
    expect(remote__backoff(7, 500, 30_000, () => 1)).toBe(30_000)
    expect(remote__backoff(1000, 500, 30_000, () => 0)).toBe(15_000)
  })
})

describe('bridge loop path', () => {
  it('a message is never brought into a broker it has been in, nor sent out of one it left; a hub passes it on', () => {
    const left = path__out(undefined, 'A')!
    expect(left[PATH_PROPERTY]).toBe('A')
    const inB = path__in(left, 'B')!
    expect(inB[PATH_PROPERTY]).toBe('A,>B')
    // Hub B: it came in through B's own bridge just now, so B's other bridges send it on.
    expect(path__out(inB, 'B')![PATH_PROPERTY]).toBe('A,B')
    // Back at A (through any broker that keeps user properties): not taken in, not sent out again.
    expect(path__in(path__out(inB, "B")!, "A")).toBeNull()
    expect(path__out(path__out(inB, "B")!, "A")).toBeNull()
    // Other user properties are kept.
    expect(path__out({unit: 'C'}, 'A')).toEqual({unit: 'C', [PATH_PROPERTY]: 'A'})
  })
})
