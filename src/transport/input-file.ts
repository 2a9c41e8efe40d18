import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileProblem, OrgalorgError } from '../errors.js';

/**
 * Opens the `-i` file at once, so a missing or unreadable one is an error before any host is
 * contacted, and returns what reads it (once: a pipe such as `<(...)` cannot be read twice).
 *
 * @throws OrgalorgError with code `input.read`, naming the file and why.
 */
export function openInputFile(path: string): () => Readable {
  // Our own stdin may be a socket (a parent process's pipe), which /dev/stdin cannot reopen.
  if (path === '-' || path === '/dev/stdin') return () => process.stdin;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error: unknown) {
    throw new OrgalorgError(
      `can't open file for passing as stdin: '${path}': ${fileProblem(error)}`,
      {
        code: 'input.read',
        cause: error,
      },
    );
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new OrgalorgError(`can't open file for passing as stdin: '${path}': it is a directory`, {
      code: 'input.read',
    });
  }
  return () => createReadStream('', { fd });
}
