import { Observable, Subject, Subscription, type TeardownLogic } from 'rxjs';
import type { Connection } from './transport/transport.js';

/**
 * The lifetime of a run's connections, locks and heartbeats. Stages that hold something for the
 * whole run (a lock channel, a heartbeat loop) add it here; a failure reported here (a lost lock)
 * fails the whole {@link session} pipeline. Closing it stops what runs and closes connections.
 */
export class Session {
  private readonly connections = new Set<Connection>();
  private readonly held = new Subscription();
  private readonly failures = new Subject<never>();
  private closing: Promise<void> | undefined;

  /** Errors when a stage reports a failure of the whole run; never completes. */
  readonly failed: Observable<never> = this.failures.asObservable();

  /** Makes the connection live as long as the session; it is closed last. */
  own(connection: Connection): void {
    this.connections.add(connection);
  }

  /** Keeps something running (a lock, a heartbeat) until the session closes. */
  hold(teardown: TeardownLogic): void {
    this.held.add(teardown);
  }

  /** Fails every pipeline built on this session (a lost lock, for example). */
  fail(error: unknown): void {
    this.failures.error(error);
  }

  /** Stops what the session holds, then closes its connections; resolves when all are closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.held.unsubscribe();
      await Promise.all([...this.connections].map((connection) => connection.close()));
    })();
    return this.closing;
  }
}

/**
 * Runs a pipeline inside a {@link Session}: what the pipeline opens stays open while it runs and
 * is closed when it ends, errors or is unsubscribed; a failure reported to the session (a lost
 * lock) errors the output.
 *
 * @param build makes the pipeline from the session its stages should use.
 * @param owner the session to use, for a caller that wants to await {@link Session.close}.
 *
 * @example
 * session((s) => hosts(['web1'], { user }).pipe(connect({ session: s, transport }), exec('uptime')))
 *   .subscribe(toText());
 */
export function session<T>(
  build: (session: Session) => Observable<T>,
  owner: Session = new Session(),
): Observable<T> {
  return new Observable<T>((subscriber) => {
    const failures = owner.failed.subscribe({ error: (error: unknown) => subscriber.error(error) });
    // An observer of its own, not the subscriber: unsubscribing `run` below must tear the whole
    // pipeline down (stopping remote commands) before the session closes the connections.
    const run = build(owner).subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      run.unsubscribe();
      failures.unsubscribe();
      void owner.close();
    };
  });
}
