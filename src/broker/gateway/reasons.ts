import {reason__name} from '../../protocol/reason-codes.js'

/**
 * A reason code as JSON clients read it, `not authorized (0x87)`, from the protocol's one table of reason codes,
 * with the broker's reason string when it adds something.
 */
export function reasons__describe(code: number, reasonString?: string): string {
  const hex = `0x${code.toString(16).padStart(2, '0')}`
  const name = reason__name(code).slice(hex.length + 1)
  // Brokers often repeat the code's name as the reason string: say it once.
  const extra = reasonString === undefined || reasonString === '' || reasonString.toLowerCase() === name ? '' : `: ${reasonString}`
  return `${name} (${hex})${extra}`
}
