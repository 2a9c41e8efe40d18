// Retry one flaky host with back-off, without holding the others back: each host connects
// on its own, up to `attempts` times, waiting longer after each failure.
import { catchError, EMPTY, from, mergeMap, retry, timer, type Observable } from 'rxjs';
import {
  connect,
  exec,
  expectSuccess,
  hosts,
  loadKeys,
  session,
  sshTransport,
  type HostEvent,
  type LogHook,
} from '../src/index.js';

export interface RetryConfig {
  readonly hosts: readonly string[];
  readonly user: string;
  readonly key: string;
  readonly command: string;
  readonly attempts: number;
  /** Called with each failed attempt, and when a host is given up. */
  readonly log: LogHook;
}

export function withRetries(config: RetryConfig): Observable<HostEvent> {
  const transport = sshTransport({
    keys: loadKeys(config.key),
    connectTimeout: 5_000,
    keepAlive: 10_000,
    receiveTimeout: 60_000,
  });
  return session((s) =>
    from(config.hosts).pipe(
      mergeMap((name) =>
        hosts([name], { user: config.user }).pipe(
          connect({ transport, session: s }),
          retry({
            count: config.attempts - 1,
            delay: (error: Error, attempt) => {
              config.log({ level: 'warn', message: `attempt ${attempt}: ${error.message}` });
              return timer(100 * 2 ** attempt);
            },
          }),
          catchError((error: Error) => {
            config.log({ level: 'error', message: `giving up on ${name}: ${error.message}` });
            return EMPTY;
          }),
          exec(config.command),
        ),
      ),
      expectSuccess(),
    ),
  );
}
