/**
 * `mqttkit broker --store/--data-dir` through the built CLI: the banner names the store, and a store the broker
 * cannot use stops it at start with one clear sentence and a non-zero exit code (nothing is overwritten).
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {BrokerProcess} from './broker-process.js'
import {tmp__cleanup, tmp__dir} from './tmp.js'

const brokers: BrokerProcess[] = []
afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.kill9()
})
afterAll(tmp__cleanup)

async function bannerOf(broker: BrokerProcess, text: string): Promise<string> {
  const deadline = Date.now() + 5_000
  while (!broker.output.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  return broker.output
}

describe('mqttkit broker --store', () => {
  it('defaults to SQLite in --data-dir and says so in the banner', async () => {
    const dataDir = join(tmp__dir(), 'data')
    const broker = await BrokerProcess.start(['--data-dir', dataDir])
    brokers.push(broker)
    expect(await bannerOf(broker, 'mqttkit.db')).toContain(`sqlite:${join(dataDir, 'mqttkit.db')}`)
    expect(readFileSync(join(dataDir, 'mqttkit.db')).subarray(0, 15).toString()).toBe('SQLite format 3')
  })

  it('MQTTKIT_DATA_DIR sets the data directory', async () => {
    const dataDir = join(tmp__dir(), 'from-env')
    process.env.MQTTKIT_DATA_DIR = dataDir
    try {
      const broker = await BrokerProcess.start([])
      brokers.push(broker)
      expect(await bannerOf(broker, 'mqttkit.db')).toContain(`sqlite:${join(dataDir, 'mqttkit.db')}`)
    } finally {
      delete process.env.MQTTKIT_DATA_DIR
    }
  })

  it('the config file may choose the store; a flag overrides it', async () => {
    const dir = tmp__dir()
    const config = join(dir, 'broker.json')
    writeFileSync(config, JSON.stringify({store: `sqlite:${join(dir, 'from-config.db')}`}))
    const fromFile = await BrokerProcess.start(['--config', config])
    brokers.push(fromFile)
    expect(await bannerOf(fromFile, 'from-config.db')).toContain(`sqlite:${join(dir, 'from-config.db')}`)
    const overridden = await BrokerProcess.start(['--config', config, '--store', 'memory'])
    brokers.push(overridden)
    expect(await bannerOf(overridden, 'store: memory')).toContain('store: memory')
  })

  it('--store memory writes nothing', async () => {
    const dataDir = join(tmp__dir(), 'unused')
    const broker = await BrokerProcess.start(['--store', 'memory', '--data-dir', dataDir])
    brokers.push(broker)
    expect(await bannerOf(broker, 'memory')).toMatch(/memory/)
    expect(() => readFileSync(join(dataDir, 'mqttkit.db'))).toThrow(/ENOENT/)
  })

  it('refuses to start on a file that is not a database, and leaves it alone', async () => {
    const file = join(tmp__dir(), 'notes.db')
    writeFileSync(file, 'important notes, not a database\n'.repeat(100))
    const {code, output} = await BrokerProcess.refuse(['--store', `sqlite:${file}`])
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(output).toContain('is not a valid mqttkit database')
    expect(readFileSync(file, 'utf8')).toBe('important notes, not a database\n'.repeat(100))
  })

  it('refuses a directory as the store file, naming the fix', async () => {
    const dir = tmp__dir()
    mkdirSync(join(dir, 'db'))
    const {code, output} = await BrokerProcess.refuse(['--store', `sqlite:${join(dir, 'db')}`])
    expect(code).not.toBe(0)
    expect(output).toContain('is a directory')
  })

  it('refuses an unknown store name', async () => {
    const {code, output} = await BrokerProcess.refuse(['--store', 'floppy'])
    expect(code).not.toBe(0)
    // oclif wraps the error at the terminal width behind › marks: compare it as one line.
    expect(output.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ')).toContain('use memory, sqlite, sqlite:PATH or redis://host:port/db')
  })
})
