import {
  catchError,
  concatWith,
  defer,
  EMPTY,
  mergeMap,
  Observable,
  of,
  ReplaySubject,
  Subject,
  type OperatorFunction,
} from 'rxjs';
import { errorMessage, OrgalorgError, type OrgalorgErrorCode } from '../errors.js';
import type { ConnectedHost, HeldLock } from '../host.js';
import { shellQuote } from '../transport/remote-command.js';
import type { ExecEvent, LogHook } from '../types.js';
import { FailoverCollector, type Failover } from './failover.js';

export interface LockConfig {
  /** The remote file or directory to `flock` (`--lock-file`, else `-r`, else `/`). */
  readonly path: string;
  /** `strict` (default) fails the run if any host cannot be locked; `loose` (`-t`) warns. */
  readonly failover?: Failover;
  /**
   * When `path` does not exist yet (an `-r` directory an upload will create), lock the nearest
   * parent that does, instead of failing.
   */
  readonly nearestExisting?: boolean;
  /** How many hosts may be locking at once; 16 by default. */
  readonly concurrency?: number;
  readonly log?: LogHook;
}

/**
 * Takes an exclusive `flock` on `path` on each host and emits the host with its lock; the lock
 * is held until the host's session ends (its channel closes and the remote `flock` exits).
 *
 * Strict: once every host has been tried, errors with code `connect.cluster` listing each host
 * whose lock was refused (`lock already obtained by another process`), missing or broken.
 * Loose: warns and emits such a host without a lock. Unsubscribing releases locks in flight.
 *
 * @example
 * connected.pipe(lock({ path: '/srv/app' }));
 * // each host, with `lock` set, once /srv/app is locked there
 */
export function lock(config: LockConfig): OperatorFunction<ConnectedHost, ConnectedHost> {
  return (source) =>
    defer(() => {
      const collector = new FailoverCollector(config.failover ?? 'strict', config.log, 'lock');
      const attempt = (target: ConnectedHost) => {
        collector.attempt();
        return acquire(target, config).pipe(
          catchError((error: unknown) => {
            collector.fail(error);
            return config.failover === 'loose' ? of(target) : EMPTY;
          }),
        );
      };
      return source.pipe(
        mergeMap(attempt, config.concurrency ?? 16),
        concatWith(collector.verdictOnce()),
      );
    });
}

const REPLIES: Record<string, string> = {
  locked: "can't acquire lock, lock already obtained by another process or unavailable",
  missing: 'no such file or directory on the host',
  'no-flock': 'flock is not installed on the host',
};

/** The remote side: `acquired` then an echo of every line sent, or one word saying why not. */
function lockCommand(path: string, nearestExisting: boolean): string {
  const script = [
    `command -v flock >/dev/null 2>&1 || { echo no-flock; exit 0; }`,
    `file=${shellQuote(path)}`,
    nearestExisting
      ? `while [ ! -e "$file" ]; do file=$(dirname "$file"); done`
      : `[ -e "$file" ] || { echo missing; exit 0; }`,
    // Only a lock held elsewhere says `locked` (exit 75): a flock killed later says nothing.
    `flock -nx -E 75 "$file" -c 'echo acquired && exec cat'`,
    `[ $? -ne 75 ] || echo locked`,
  ].join('\n');
  return `sh -c ${shellQuote(script)}`;
}

function acquire(target: ConnectedHost, config: LockConfig): Observable<ConnectedHost> {
  const { host, connection, session } = target;
  return new Observable<ConnectedHost>((subscriber) => {
    const input = new Subject<string>();
    const replies = new Subject<string>();
    const ended = new ReplaySubject<string>(1);
    const failure = (why: string, cause?: unknown, code: OrgalorgErrorCode = 'lock.failed') =>
      new OrgalorgError(`${host.node} ${why}`, { code, host, cause });
    let acquired = false;
    let partial = '';
    let complaint = '';

    const onLine = (line: string) => {
      const reply = line.trim();
      if (acquired) return replies.next(reply);
      if (reply === 'acquired') {
        acquired = true;
        config.log?.({
          level: 'trace',
          host,
          message: `lock acquired: '${host.node}' on '${config.path}'`,
        });
        const held: HeldLock = {
          path: config.path,
          replies: replies.asObservable(),
          ended: ended.asObservable(),
          ping: () => input.next('PING\n'),
        };
        subscriber.next({ ...target, lock: held });
        return subscriber.complete();
      }
      const why =
        REPLIES[reply] ??
        `unexpected reply string encountered instead of 'acquired' or 'locked': '${reply}'`;
      if (reply === 'locked') return subscriber.error(failure(why, undefined, 'lock.held'));
      subscriber.error(failure(reply === 'missing' ? `can't lock '${config.path}': ${why}` : why));
    };

    const onEvent = (event: ExecEvent) => {
      if (event.kind === 'exit') {
        // flock says why on stderr (permission denied, not a file...): tell the operator.
        const why = complaint.trim().split('\n').at(-1) ?? '';
        if (!acquired) {
          subscriber.error(
            failure(
              why === '' ? "can't read lock status line from lock process" : `can't lock: ${why}`,
            ),
          );
        }
        const how =
          event.code === null
            ? `by signal ${event.signal ?? 'unknown'}`
            : `with code ${event.code}`;
        return ended.next(`its process on the host ended ${how}`);
      }
      const text = event.data.toString();
      if (event.kind === 'stderr') {
        if (!acquired) complaint += text;
        for (const line of text.split('\n').filter(Boolean)) {
          config.log?.({ level: 'debug', host, message: `${host.node} {flock} <stderr> ${line}` });
        }
        return;
      }
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    };

    config.log?.({ level: 'trace', host, message: `${host.node} running lock command` });
    const running = connection
      .run(lockCommand(config.path, config.nearestExisting === true), { stdin: input })
      .subscribe({
        next: onEvent,
        error: (error: unknown) => {
          if (!acquired) subscriber.error(failure("can't start lock command", error));
          ended.next(errorMessage(error));
        },
      });
    // The lock lives as long as the session, not as long as this subscription.
    session.hold(running);
    return () => {
      if (!acquired) running.unsubscribe();
    };
  });
}
