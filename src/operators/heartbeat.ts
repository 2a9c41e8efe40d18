import {
  asyncScheduler,
  interval,
  map,
  merge,
  startWith,
  tap,
  type MonoTypeOperatorFunction,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { errorMessage, OrgalorgError } from '../errors.js';
import type { ConnectedHost, HeldLock } from '../host.js';
import type { HostSpec, LogHook } from '../types.js';

export interface HeartbeatConfig {
  /** Time between pings in ms: 0.8 × the send timeout (`-j`) in the CLI. */
  readonly period: number;
  readonly scheduler?: SchedulerLike;
  readonly log?: LogHook;
}

/**
 * Pings every lock that passes through, once per `period`, for as long as the host's session
 * lives; hosts pass through unchanged.
 *
 * A lock whose process ends, or that has not answered a ping by the next one, is lost: the
 * session fails with code `heartbeat.lost` (exit status 2 in the CLI), naming the host, which
 * tears down the whole run. Hosts without a lock are not watched.
 *
 * @example
 * locked.pipe(heartbeat({ period: 48_000 }));
 */
export function heartbeat(config: HeartbeatConfig): MonoTypeOperatorFunction<ConnectedHost> {
  return tap((target) => {
    if (target.lock === undefined) return;
    const beating = watch(target.host, target.lock, config).subscribe({
      error: (error: unknown) => {
        config.log?.({ level: 'error', host: target.host, message: errorMessage(error), error });
        target.session.fail(error);
      },
    });
    target.session.hold(beating);
  });
}

/** Never emits; errors when the lock is lost. */
function watch(host: HostSpec, lock: HeldLock, config: HeartbeatConfig): Observable<never> {
  const lost = (why: string) =>
    new OrgalorgError(`${host.node} heartbeat failed: ${why}`, {
      code: 'heartbeat.lost',
      host,
      exitCode: 2,
    });
  let unanswered = false;

  const ticks = interval(config.period, config.scheduler ?? asyncScheduler).pipe(
    startWith(-1),
    map(() => {
      if (unanswered) throw lost(`can't receive heartbeat: no reply within ${config.period} ms`);
      unanswered = true;
      lock.ping();
    }),
  );
  const replies = lock.replies.pipe(
    map((reply) => {
      if (reply !== 'PING') throw lost(`received unexpected heartbeat ping: '${reply}'`);
      unanswered = false;
      config.log?.({ level: 'trace', host, message: `${host.node} heartbeat` });
    }),
  );
  const ended = lock.ended.pipe(
    map((why) => {
      throw lost(`the lock is lost: ${why}`);
    }),
  );
  // Replies are listened to before the first ping goes out, so an echo at once is not missed.
  return merge(replies, ended, ticks) as Observable<never>;
}
