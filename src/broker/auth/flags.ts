/**
 * The `mqttkit broker` security flags (users, ACL, rate limits) and their translation into hooks and
 * BrokerOptions. Kept beside the auth code so that `commands/broker.ts` only spreads `securityFlags` and calls
 * `security__fromFlags`. Every flag may also come from the broker's config file under the same name.
 * Documented in docs/security.md.
 */
import {Flags} from '@oclif/core'
import {stat} from 'node:fs/promises'
import type {Logger} from '../logger.js'
import type {BrokerOptions} from '../options.js'
import {AuthFiles} from './hooks.js'

const GROUP = 'SECURITY'

export const securityFlags = {
  // No oclif defaults (as for every broker flag): a flag left out must not hide the config file's value.
  'password-file': Flags.string({
    description: 'users and password hashes, managed with `mqttkit passwd` (mosquitto_passwd files work too); re-read on SIGHUP',
    helpGroup: GROUP,
  }),
  'acl-file': Flags.string({
    description: 'who may publish and subscribe to what (acl_file format: user, topic, pattern lines); re-read on SIGHUP [default: everything allowed]',
    helpGroup: GROUP,
  }),
  'max-connection-rate': Flags.integer({
    description: 'new connections per second from one address, over it closed at once (IPv6: per /64) [default: unlimited]',
    min: 1,
    helpGroup: GROUP,
  }),
  'max-publish-rate': Flags.integer({
    description: 'PUBLISH packets per second per connection, over it disconnected (MQTT 5: 0x96) [default: unlimited]',
    min: 1,
    helpGroup: GROUP,
  }),
  'max-publish-bytes-rate': Flags.integer({
    description: 'PUBLISH payload bytes per second per connection, over it disconnected (MQTT 5: 0x97) [default: unlimited]',
    min: 1,
    helpGroup: GROUP,
  }),
}

export type SecurityFlagValues = {[K in keyof typeof securityFlags]?: K extends `max-${string}` ? number : string}

export interface Security {
  auth: AuthFiles
  /** To spread into BrokerOptions. */
  options: Pick<BrokerOptions, 'auth' | 'maxConnectionRate' | 'maxPublishRate' | 'maxPublishBytesRate'>
  /** Lines for the start-up banner. */
  notes: string[]
  warnings: string[]
}

/** Reads the password and ACL files (rejecting with the file and line of a mistake) and maps the limit flags. */
export async function security__fromFlags(flags: SecurityFlagValues, allowAnonymous: boolean): Promise<Security> {
  const auth = await AuthFiles.load({passwordFile: flags['password-file'], aclFile: flags['acl-file'], allowAnonymous})
  const notes: string[] = []
  const warnings: string[] = []
  const {users, rules} = auth.counts
  if (flags['password-file'] !== undefined) notes.push(`${users} user${users === 1 ? '' : 's'} from ${flags['password-file']}`)
  if (flags['acl-file'] !== undefined) notes.push(`${rules} ACL rule${rules === 1 ? '' : 's'} from ${flags['acl-file']}`)
  if (!allowAnonymous && (flags['password-file'] === undefined || users === 0)) {
    warnings.push('anonymous clients are refused and no user can log in: give --password-file with at least one user')
  } else if (flags['acl-file'] !== undefined && flags['password-file'] === undefined) {
    warnings.push('user names are not checked without --password-file: any client can claim a user name and get its ACL rules')
  }
  // Hashes readable by other local users can be attacked offline (`mqttkit passwd` always writes 0600).
  if (flags['password-file'] !== undefined && process.platform !== 'win32') {
    const {mode} = await stat(flags['password-file'])
    if (mode & 0o077) warnings.push(`${flags['password-file']} can be read by other users: chmod 600 it`)
  }
  return {
    auth,
    options: {
      auth,
      maxConnectionRate: flags['max-connection-rate'],
      maxPublishRate: flags['max-publish-rate'],
      maxPublishBytesRate: flags['max-publish-bytes-rate'],
    },
    notes,
    warnings,
  }
}

/** What SIGHUP does for security: re-read both files, or keep the rules in force and say why. */
export function security__reload(security: Security, logger: Logger): void {
  security.auth.reload().then(
    ({users, rules}) => logger.info(`reloaded ${users} user(s) and ${rules} ACL rule(s)`),
    (error: Error) => logger.error(`${error.message}; the previous users and ACL stay in force`),
  )
}
