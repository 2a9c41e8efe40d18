import { closeSync, openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { fileProblem, OrgalorgError } from '../errors.js';

/**
 * Asks a question on the terminal (`/dev/tty`, not stdin, which may carry hosts or input) and
 * reads the answer without echo. Ctrl-C gives up.
 *
 * @throws OrgalorgError with code `auth.prompt` when there is no terminal to ask on, or the
 *   question was given up; never waits for an answer that cannot come.
 */
export function promptSecret(question: string, what: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch (error: unknown) {
    return Promise.reject(
      new OrgalorgError(
        `TTY is required for reading ${what}, but /dev/tty can't be opened: ${fileProblem(error)}`,
        { code: 'auth.prompt', cause: error },
      ),
    );
  }

  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  input.setRawMode(true);
  output.write(question);

  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.off('data', onData);
      output.write('\n');
      input.destroy();
      output.destroy();
      try {
        closeSync(fd);
      } catch {
        // The streams may have closed it already.
      }
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\x03') {
          return finish(new OrgalorgError(`no ${what} given (Ctrl-C)`, { code: 'auth.prompt' }));
        }
        if (char === '\x7f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    input.on('data', onData);
  });
}
