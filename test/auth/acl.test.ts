import {describe, expect, it} from 'vitest'
import {Acl, acl__covers, acl__matches} from '../../src/broker/auth/acl.js'

const levels = (s: string) => s.split('/')

describe('ACL topic matching', () => {
  it.each([
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+/c', 'a//c', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['a/b', 'a/b/', false],
  ])('rule %s on topic %s: %s [MQTT-4.7.1-2] [MQTT-4.7.2-1]', (rule, topic, expected) => {
    expect(acl__matches(levels(rule), levels(topic))).toBe(expected)
  })

  it.each([
    ['a/#', 'a/#', true],
    ['a/#', 'a/+/c', true],
    ['a/#', 'a', true],
    ['a/+', 'a/#', false],
    ['a/+', 'a/+', true],
    ['a/b', 'a/+', false],
    ['#', '$SYS/#', false],
    ['#', '+/x', true],
    ['+', '$SYS', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/#', false],
  ])('rule %s covers subscription %s: %s', (rule, filter, expected) => {
    expect(acl__covers(levels(rule), levels(filter))).toBe(expected)
  })
})

const FILE = `
# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret/#
topic write   shared/in
topic read shared/out

user bob smith
topic with space/x

pattern read devices/%c/config
pattern readwrite users/%u/#
pattern deny private/%u/#
`

describe('ACL file', () => {
  const acl = Acl.parse(FILE, 'acl')

  it('applies rules before any user line to anonymous clients only', () => {
    const anon = acl.forClient(undefined, 'c1')
    expect(anon.canRead('public/a')).toBe(true)
    expect(anon.canWrite('public/a')).toBe(false)
    expect(anon.canSubscribe('public/#')).toBe(true)
    expect(anon.canSubscribe('#')).toBe(false)
    const alice = acl.forClient('alice', 'c2')
    expect(alice.canRead('public/a')).toBe(false)
  })

  it('grants read, write and readwrite as written, and deny beats any grant', () => {
    const alice = acl.forClient('alice', 'c2')
    expect(alice.canWrite('alice/x')).toBe(true)
    expect(alice.canRead('alice/x')).toBe(true)
    expect(alice.canWrite('alice/secret/k')).toBe(false)
    expect(alice.canRead('alice/secret/k')).toBe(false)
    expect(alice.canWrite('shared/in')).toBe(true)
    expect(alice.canRead('shared/in')).toBe(false)
    expect(alice.canRead('shared/out')).toBe(true)
    expect(alice.canWrite('shared/out')).toBe(false)
    expect(alice.canWrite('elsewhere')).toBe(false)
  })

  it('allows a subscription only inside readable rules; deliveries are then filtered one by one', () => {
    const alice = acl.forClient('alice', 'c2')
    expect(alice.canSubscribe('alice/#')).toBe(true)
    expect(alice.canSubscribe('alice/+/x')).toBe(true)
    expect(alice.canSubscribe('alice/secret/#')).toBe(false)
    expect(alice.canSubscribe('shared/in')).toBe(false)
    expect(alice.canSubscribe('#')).toBe(false)
    expect(alice.canSubscribe('$share/g/alice/#')).toBe(true)
    expect(alice.canSubscribe('$share/g/#')).toBe(false)
  })

  it('takes the rest of the line as user name and topic (spaces allowed); no access word means readwrite', () => {
    const bob = acl.forClient('bob smith', 'c3')
    expect(bob.canWrite('with space/x')).toBe(true)
    expect(bob.canRead('with space/x')).toBe(true)
  })

  it('substitutes %u and %c in patterns for every client', () => {
    const alice = acl.forClient('alice', 'dev-7')
    expect(alice.canRead('devices/dev-7/config')).toBe(true)
    expect(alice.canWrite('devices/dev-7/config')).toBe(false)
    expect(alice.canRead('devices/dev-8/config')).toBe(false)
    expect(alice.canWrite('users/alice/a/b')).toBe(true)
    expect(alice.canWrite('users/bob/a')).toBe(false)
    expect(alice.canRead('private/alice/x')).toBe(false)
    const anon = acl.forClient(undefined, 'dev-9')
    expect(anon.canRead('devices/dev-9/config')).toBe(true)
    // %u never matches a client without a user name, and a %u deny rule does not lock it out of everything.
    expect(anon.canRead('users//x')).toBe(false)
    expect(anon.canRead('public/x')).toBe(true)
  })

  it('does not substitute names containing / + or #: grants vanish and deny rules refuse everything', () => {
    const sneaky = acl.forClient('alice/x', 'dev/+')
    expect(sneaky.canRead('devices/dev/+/config')).toBe(false)
    expect(sneaky.canWrite('users/alice/x/y')).toBe(false)
    expect(sneaky.canRead('public/a')).toBe(false)
    const wild = Acl.parse('pattern readwrite c/%c/#\n').forClient(undefined, '#')
    expect(wild.canWrite('c/a/b')).toBe(false)
    expect(wild.canSubscribe('c/#/#')).toBe(false)
  })

  it('substitutes in one pass: a user name "%c" does not become the client id', () => {
    const acl = Acl.parse('pattern readwrite users/%u/#\n')
    const trick = acl.forClient('%c', 'bob')
    expect(trick.canWrite('users/bob/inbox')).toBe(false)
    expect(trick.canWrite('users/%c/inbox')).toBe(true)
  })

  it('with no rule for a user, refuses everything (an ACL is an allow-list)', () => {
    const stranger = Acl.parse('user alice\ntopic a\n').forClient('mallory', 'm')
    expect(stranger.canRead('a')).toBe(false)
    expect(stranger.canWrite('a')).toBe(false)
  })

  it('merges repeated user sections and counts rules', () => {
    const merged = Acl.parse('user a\ntopic x\nuser b\ntopic y\nuser a\ntopic z\n')
    expect(merged.forClient('a', 'c').canWrite('z')).toBe(true)
    expect(merged.forClient('a', 'c').canWrite('x')).toBe(true)
    expect(merged.ruleCount).toBe(3)
  })

  it('names the file and line of a bad rule', () => {
    expect(() => Acl.parse('user a\ntopic read a/#/b\n', 'f')).toThrow(/^f line 2: "#" must be a whole level/)
    expect(() => Acl.parse('topic a+\n', 'f')).toThrow(/f line 1: "\+" must occupy a whole level/)
    expect(() => Acl.parse('users a\n', 'f')).toThrow(/f line 1: unknown keyword "users"/)
    expect(() => Acl.parse('user\n', 'f')).toThrow(/f line 1: "user" needs a user name/)
    expect(() => Acl.parse('topic read\n', 'f')).toThrow(/f line 1: the topic filter is empty/)
  })
})
