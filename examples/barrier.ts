// A two-phase rollout: a sync tool runs on every host, and the barrier says when every host has
// finished phase 1 (each tool waits for the others itself, through the relayed SYNC lines).
import { map, merge, share, type Observable } from 'rxjs';
import {
  barrier,
  connect,
  hosts,
  loadKeys,
  session,
  sshTransport,
  syncProtocol,
  type HostEvent,
  type HostSpec,
} from '../src/index.js';

export interface PhasesConfig {
  readonly hosts: readonly string[];
  readonly user: string;
  readonly key: string;
  /** The sync tool's command line; it sends `<prefix> SYNC <step>` once its phase 1 is done. */
  readonly tool: string;
  readonly step: string;
}

/** Every host reached `step`. */
export interface BarrierReached {
  readonly kind: 'barrier';
  readonly step: string;
  readonly hosts: readonly HostSpec[];
}

export function phases(config: PhasesConfig): Observable<HostEvent | BarrierReached> {
  const transport = sshTransport({
    keys: loadKeys(config.key),
    connectTimeout: 10_000,
    keepAlive: 10_000,
    receiveTimeout: 60_000,
  });

  return session((s) => {
    // One run of the tools, seen by two subscribers: the barrier and the caller.
    const events = hosts(config.hosts, { user: config.user }).pipe(
      connect({ transport, session: s }),
      syncProtocol({ command: config.tool }),
      share(),
    );
    const reached = events.pipe(
      barrier(config.step, config.hosts.length),
      map((all): BarrierReached => ({ kind: 'barrier', step: config.step, hosts: all })),
    );
    // The barrier subscribes first, so it sees the last host's SYNC line before anyone else.
    return merge(reached, events);
  });
}
