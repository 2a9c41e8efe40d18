// A canary rollout: run a command on the first host, and on the rest only once it succeeded there.
import { concat, type Observable } from 'rxjs';
import {
  connect,
  exec,
  expectSuccess,
  hosts,
  loadKeys,
  session,
  sshTransport,
  type HostEvent,
} from '../src/index.js';

export interface CanaryConfig {
  readonly hosts: readonly string[];
  readonly user: string;
  readonly key: string;
  readonly command: string;
}

export function canary(config: CanaryConfig): Observable<HostEvent> {
  const transport = sshTransport({
    keys: loadKeys(config.key),
    connectTimeout: 10_000,
    keepAlive: 10_000,
    receiveTimeout: 60_000,
  });
  const [first = '', ...rest] = config.hosts;

  return session((s) => {
    const run = (names: readonly string[]) =>
      hosts(names, { user: config.user }).pipe(
        connect({ transport, session: s }),
        exec(config.command),
        expectSuccess(),
      );
    // concat subscribes to the rest only after the canary completed, and an error stops it.
    return concat(run([first]), run(rest));
  });
}
