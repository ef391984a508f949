/**
 * Runs the fuzz driver in its own process (`node --import tsx test/fuzz/driver-main.ts '<FuzzOptions JSON>'`), so
 * the broker under test keeps the test process's event loop to itself and the two use both cores. Prints the
 * FuzzStats as one JSON line.
 */
import {fuzz__run, type FuzzOptions} from './driver.js'

const options = JSON.parse(process.argv[2] ?? '{}') as FuzzOptions
const stats = await fuzz__run(options)
const cpu = process.cpuUsage()
process.stdout.write(`${JSON.stringify({...stats, driverCpuMs: Math.round((cpu.user + cpu.system) / 1000)})}\n`)
