import { defer, EMPTY, throwError, type Observable } from 'rxjs';
import { errorMessage, OrgalorgError } from '../errors.js';
import type { LogHook } from '../types.js';

/**
 * What a stage does with a host that fails: `strict` fails the run once every host has been
 * tried, `loose` warns and goes on without that host (or, for locks, with it unlocked).
 */
export type Failover = 'strict' | 'loose';

/** Collects per-host failures of one stage and decides what they mean for the run. */
export class FailoverCollector {
  private readonly failures: unknown[] = [];
  private attempts = 0;
  private failedCount = 0;

  /**
   * @param stage `connect` or `lock`: the words of the verdict (`connection to 1 of 3 nodes
   *   failed`, `lock on 1 of 3 nodes failed`), under orgalorg's `connecting to cluster failed`.
   */
  constructor(
    private readonly failover: Failover,
    private readonly log: LogHook | undefined,
    private readonly stage: 'connect' | 'lock' = 'connect',
  ) {}

  /** Counts one host as tried. */
  attempt(): void {
    this.attempts += 1;
  }

  /** Records a host's failure: a warning when loose, kept for {@link verdict} when strict. */
  fail(error: unknown): void {
    this.failedCount += 1;
    if (this.failover === 'loose') {
      const host = error instanceof OrgalorgError ? error.host : undefined;
      this.log?.({ level: 'warn', message: errorMessage(error), host, error });
    } else {
      this.failures.push(error);
    }
  }

  /** Hosts tried so far. */
  get tried(): number {
    return this.attempts;
  }

  /** Hosts failed so far, warned about or kept. */
  get failed(): number {
    return this.failedCount;
  }

  /** Completes, or errors with the {@link verdict}, once subscribed after every host was tried. */
  verdictOnce(): Observable<never> {
    return defer(() => {
      const verdict = this.verdict();
      return verdict === undefined ? EMPTY : throwError(() => verdict);
    });
  }

  /** The error that fails the run, after every host was tried; undefined when none failed. */
  verdict(): OrgalorgError | undefined {
    if (this.failures.length === 0) return undefined;
    return new OrgalorgError('connecting to cluster failed', {
      code: 'connect.cluster',
      children: [
        new OrgalorgError(
          `${this.stage === 'lock' ? 'lock on' : 'connection to'} ${this.failures.length} of ${this.attempts} nodes failed`,
          {
            code: 'connect.cluster',
            children: [
              new OrgalorgError(
                this.stage === 'lock' ? "can't lock nodes" : "can't connect to nodes",
                {
                  code: 'connect.cluster',
                  children: this.failures,
                },
              ),
            ],
          },
        ),
      ],
    });
  }
}
