// The Node.js running mqttkit: it needs 20 or newer (package.json engines); odd majors are short-lived.
import {fix__installNode} from '../fixes.js'
import type {Check} from '../types.js'

export const MIN_NODE_MAJOR = 20

export function node__assess(version: string): {status: 'ok' | 'warn' | 'fail'; detail: string} {
  const major = Number(version.replace(/^v/, '').split('.')[0])
  if (!Number.isFinite(major) || major < MIN_NODE_MAJOR) {
    return {status: 'fail', detail: `Node.js ${version} is too old: mqttkit needs ${MIN_NODE_MAJOR} or newer`}
  }
  if (major % 2 === 1) {
    return {status: 'warn', detail: `Node.js ${version} is a short-lived odd release line; an even (LTS) line gets fixes for longer`}
  }
  return {status: 'ok', detail: `Node.js ${version}`}
}

export const nodeCheck: Check = {
  id: 'node',
  title: 'Node.js version',
  applies: () => true,
  async run(ctx) {
    const verdict = node__assess(process.versions.node)
    return {
      id: 'node',
      title: 'Node.js version',
      ...verdict,
      fix: verdict.status === 'ok' ? undefined : fix__installNode(ctx.platform),
      data: {version: process.versions.node},
    }
  },
}
