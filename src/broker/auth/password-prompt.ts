/**
 * Reading a password for `mqttkit passwd` without showing it: on a terminal, a readline prompt whose output is
 * muted while the user types (asked twice, so a typo cannot lock a user out); otherwise the first line of stdin,
 * so scripts can pipe it (`printf 'secret\n' | mqttkit passwd FILE USER`) without it appearing in `ps`.
 */
import {createInterface} from 'node:readline'
import {Writable} from 'node:stream'

export class PasswordPromptError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PasswordPromptError'
  }
}

/** Asks once on the terminal, echoing nothing of the answer. */
function promptHidden(question: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  let muted = false
  // readline echoes every keystroke through its output stream: this one forwards the prompt and drops the echo.
  const sink = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) output.write(chunk)
      done()
    },
  })
  const rl = createInterface({input, output: sink, terminal: true})
  return new Promise((resolve, reject) => {
    rl.on('SIGINT', () => {
      rl.close()
      output.write('\n')
      reject(new PasswordPromptError('cancelled'))
    })
    rl.question(question, (answer) => {
      rl.close()
      output.write('\n')
      resolve(answer)
    })
    muted = true
  })
}

/** The first line of a non-terminal stdin (without its line ending). */
async function readFirstLine(input: NodeJS.ReadStream): Promise<string | undefined> {
  const rl = createInterface({input, terminal: false})
  try {
    for await (const line of rl) return line
    return undefined
  } finally {
    rl.close()
  }
}

/** The new password from a terminal prompt or from stdin; rejects when it is empty or the two entries differ. */
export async function passwordPrompt__read(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  let password: string | undefined
  if (input.isTTY) {
    password = await promptHidden('Password: ', input, output)
    const again = await promptHidden('Reenter password: ', input, output)
    if (password !== again) throw new PasswordPromptError('the passwords do not match')
  } else {
    password = await readFirstLine(input)
    if (password === undefined) throw new PasswordPromptError('no password given: pass --password, or pipe it on stdin')
  }
  if (password.length === 0) throw new PasswordPromptError('the password is empty')
  return password
}
