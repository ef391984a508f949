import {describe, expect, it} from 'vitest'
import {
  topic__hasWildcard,
  topic__parseShared,
  topic__validateFilter,
  topic__validateName,
} from '../../src/broker/topics/validate.js'

describe('topic names', () => {
  it.each(['a', 'sport/tennis/player1', '/', '/finance', 'a//b', '$SYS/broker/uptime', 'ü/日本', ' '])(
    'accepts %j',
    (name) => expect(topic__validateName(name)).toBeNull(),
  )

  it('[MQTT-4.7.3-1] rejects an empty topic name', () => {
    expect(topic__validateName('')).toMatch(/MQTT-4\.7\.3-1/)
  })

  it.each(['+', '#', 'a/+', 'a/#', 'a+b', 'sport/tennis#'])('[MQTT-4.7.1-1] rejects wildcards in the name %j', (n) => {
    expect(topic__validateName(n)).toMatch(/MQTT-4\.7\.1-1/)
  })

  it('[MQTT-4.7.3-2] rejects U+0000 in a topic name', () => {
    expect(topic__validateName('a/\u0000b')).toMatch(/MQTT-4\.7\.3-2/)
  })

  it('[MQTT-4.7.3-3] rejects names over 65535 UTF-8 bytes, counting bytes not characters', () => {
    expect(topic__validateName('a'.repeat(65_535))).toBeNull()
    expect(topic__validateName('a'.repeat(65_536))).toMatch(/MQTT-4\.7\.3-3/)
    // 21846 × 3 bytes = 65538 bytes in only 21846 UTF-16 units.
    expect(topic__validateName('日'.repeat(21_846))).toMatch(/65535 bytes/)
  })

  it('applies the configured maximum length and level count', () => {
    expect(topic__validateName('abcd', {maxLength: 4})).toBeNull()
    expect(topic__validateName('abcde', {maxLength: 4})).toMatch(/longer than 4 bytes/)
    expect(topic__validateName('ü/ü', {maxLength: 4})).toMatch(/longer than 4 bytes/)
    expect(topic__validateName('a/b/c', {maxLevels: 3})).toBeNull()
    expect(topic__validateName('a/b/c/d', {maxLevels: 3})).toMatch(/more than 3 topic levels/)
  })
})

describe('topic filters', () => {
  it.each(['#', '+', 'sport/#', '+/tennis/#', 'sport/+/player1', '+/+', '/+', '$SYS/#', 'a//b', 'a/+/+/#', '/'])(
    'accepts %j',
    (f) => expect(topic__validateFilter(f)).toBeNull(),
  )

  it('[MQTT-4.7.3-1] rejects an empty filter', () => {
    expect(topic__validateFilter('')).toMatch(/MQTT-4\.7\.3-1/)
  })

  it.each(['sport/tennis#', 'sport/#/ranking', '#/a', 'a#', '##', 'a/#/'])(
    "[MQTT-4.7.1-2] rejects '#' that is not alone in the last level: %j",
    (f) => expect(topic__validateFilter(f)).toMatch(/MQTT-4\.7\.1-2/),
  )

  it.each(['sport+', 'sp+rt/x', '+a', 'a/+b', '++', 'a/b+/c'])("[MQTT-4.7.1-3] rejects '+' sharing a level: %j", (f) => {
    expect(topic__validateFilter(f)).toMatch(/MQTT-4\.7\.1-3/)
  })

  it('[MQTT-4.7.3-2] rejects U+0000 in a filter', () => {
    expect(topic__validateFilter('a/\u0000/#')).toMatch(/MQTT-4\.7\.3-2/)
  })

  it('[MQTT-4.7.3-3] rejects filters over the byte limit and applies configured limits', () => {
    expect(topic__validateFilter('a/'.repeat(40_000) + '#')).toMatch(/MQTT-4\.7\.3-3/)
    expect(topic__validateFilter('a/b/+/#', {maxLevels: 3})).toMatch(/more than 3/)
    expect(topic__validateFilter('a/b/#', {maxLength: 4})).toMatch(/longer than 4/)
  })
})

describe('shared subscriptions', () => {
  it('[MQTT-4.8.2-1] parses $share/{ShareName}/{filter}', () => {
    expect(topic__parseShared('$share/g1/sport/#')).toEqual({group: 'g1', filter: 'sport/#'})
    expect(topic__parseShared('$share/g/+')).toEqual({group: 'g', filter: '+'})
    expect(topic__parseShared('$share/g//a')).toEqual({group: 'g', filter: '/a'})
    expect(topic__parseShared('sport/#')).toBeNull()
    expect(topic__parseShared('$SYS/#')).toBeNull()
    expect(topic__parseShared('$shared/g/a')).toBeNull()
  })

  it('[MQTT-4.8.2-1] rejects an empty share name', () => {
    expect(topic__validateFilter('$share//a')).toMatch(/MQTT-4\.8\.2-1/)
    expect(topic__validateFilter('$share')).toMatch(/MQTT-4\.8\.2-1/)
  })

  it('[MQTT-4.8.2-2] rejects a share name with + or #, or no filter after it', () => {
    expect(topic__validateFilter('$share/a+/x')).toMatch(/MQTT-4\.8\.2-2/)
    expect(topic__validateFilter('$share/#')).toMatch(/MQTT-4\.8\.2-2/)
    expect(topic__validateFilter('$share/+/x')).toMatch(/MQTT-4\.8\.2-2/)
    expect(topic__validateFilter('$share/group')).toMatch(/MQTT-4\.8\.2-2/)
    expect(topic__validateFilter('$share/group/')).toMatch(/MQTT-4\.7\.3-1/)
  })

  it('validates the filter inside a shared subscription', () => {
    expect(topic__validateFilter('$share/g/sport/#')).toBeNull()
    expect(topic__validateFilter('$share/g/sport#')).toMatch(/MQTT-4\.7\.1-2/)
    expect(topic__validateFilter('$share/g/a+')).toMatch(/MQTT-4\.7\.1-3/)
  })
})

describe('topic__hasWildcard', () => {
  it('tells plain filters from wildcard filters', () => {
    expect(topic__hasWildcard('a/b')).toBe(false)
    expect(topic__hasWildcard('a/+')).toBe(true)
    expect(topic__hasWildcard('#')).toBe(true)
  })
})
