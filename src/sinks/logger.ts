import type { Writable } from 'node:stream';
import { NEVER } from 'rxjs';
import type { LogEntry, LogHook, LogLevel } from '../types.js';
import { errorLine, errorTree } from './error-tree.js';
import { goJson } from './json.js';
import { chunkSink, type Sink } from './output.js';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export interface LoggerConfig {
  /** The least severe level written. */
  readonly level: LogLevel;
  /** One JSON record per log line, errors flattened, instead of text with error trees. */
  readonly json?: boolean;
  readonly stream?: Writable;
  /** The clock, for tests. */
  readonly now?: () => Date;
}

function timestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
  );
}

/**
 * Makes the log hook the library's stages report to: records of `level` and above go to stderr
 * as `2024-05-01 10:00:00 [DEBUG] message`, continuation lines aligned under the message, an
 * error drawn as a tree (or flattened, in JSON).
 */
export function createLogger(config: LoggerConfig): LogHook {
  const stream = config.stream ?? process.stderr;
  const least = LEVELS.indexOf(config.level);
  const now = config.now ?? (() => new Date());
  return (entry: LogEntry) => {
    if (LEVELS.indexOf(entry.level) < least) return;
    const tag = `[${entry.level === 'warn' ? 'WARN' : entry.level.toUpperCase()}]`.padStart(7);
    const head = `${timestamp(now())} ${tag} `;
    if (config.json === true) {
      const body = entry.error === undefined ? entry.message : errorLine(entry.error);
      stream.write(
        `${goJson({ body: `${head}${body}\n`, host: null, node: null, stream: 'stderr' })}\n`,
      );
      return;
    }
    const body = entry.error === undefined ? entry.message : errorTree(entry.error);
    stream.write(`${head}${body.replaceAll('\n', `\n${' '.repeat(head.length)}`)}\n`);
  };
}

/**
 * Sends each host's output lines to the log at debug level (`-v`), as
 * `{cmd} <stdout> [user@host:port] line`, instead of to stdout.
 */
export function toLog(log: LogHook): Sink {
  return chunkSink(({ stream, host, pieces }) => {
    for (const line of Buffer.concat(pieces).toString().replace(/\n$/, '').split('\n')) {
      log({ level: 'debug', host, message: `{cmd} <${stream}> ${host.node} ${line}` });
    }
  }, NEVER);
}
