import {defineConfig} from 'vitest/config'

// Two cores in CI: a few forks keep socket-heavy tests from starving each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 3,
    reporters: ['default', ['json', {outputFile: 'test-results.json'}]],
  },
})
