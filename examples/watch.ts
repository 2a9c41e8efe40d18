// Follow a log on many hosts and stop at the first line that matches: `take(1)` unsubscribes,
// which stops `tail -F` on every host.
import { filter, take, type Observable } from 'rxjs';
import {
  connect,
  exec,
  hosts,
  lines,
  loadKeys,
  session,
  shellQuote,
  sshTransport,
  type LineInfo,
} from '../src/index.js';

export interface WatchConfig {
  readonly hosts: readonly string[];
  readonly user: string;
  readonly key: string;
  readonly file: string;
  readonly pattern: RegExp;
}

export function firstMatch(config: WatchConfig): Observable<LineInfo> {
  const transport = sshTransport({
    keys: loadKeys(config.key),
    connectTimeout: 10_000,
    keepAlive: 10_000,
    receiveTimeout: 60_000,
  });
  return session((s) =>
    hosts(config.hosts, { user: config.user }).pipe(
      connect({ transport, session: s }),
      exec(`tail -n 0 -F ${shellQuote(config.file)}`),
      lines(),
      filter((line) => config.pattern.test(line.text)),
      take(1),
    ),
  );
}
