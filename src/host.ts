import type { Observable } from 'rxjs';
import type { Session } from './session.js';
import type { Connection } from './transport/transport.js';
import type { HostSpec } from './types.js';

/** A lock held on one host: replies come back on the lock channel, pings go out on it. */
export interface HeldLock {
  /** The remote path that is locked. */
  readonly path: string;
  /** Lines the lock process echoes back (the answers to {@link HeldLock.ping}). */
  readonly replies: Observable<string>;
  /** Emits once when the lock process ends or its channel is lost. */
  readonly ended: Observable<string>;
  /** Sends one `PING` line. */
  ping(): void;
}

/** A live host: what flows between `connect` and the stages after it. */
export interface ConnectedHost {
  readonly host: HostSpec;
  readonly connection: Connection;
  readonly session: Session;
  /** The lock held on this host, when one is. */
  readonly lock?: HeldLock;
}
