import { concatWith, defer, EMPTY, tap, throwError, type MonoTypeOperatorFunction } from 'rxjs';
import { isOrgalorgError, OrgalorgError } from '../errors.js';
import type { HostEvent } from '../types.js';

export interface ExpectSuccessConfig {
  /** The first line of the error; orgalorg's `remote execution failed, ...` by default. */
  readonly message?: string;
}

function errorGroup(error: unknown): string {
  const code = isOrgalorgError(error) ? error.code : undefined;
  if (code === 'exec.start') return 'not started';
  if (code === 'input.read') return 'input not sent';
  return 'connection lost';
}

/**
 * Passes every event through and, once the source completes, errors if any host's command
 * failed: code `exec.cluster`, with one `code N (M nodes)` child per exit status (and one for
 * lost connections), each naming its hosts. Other hosts are never cut short by one failure.
 *
 * @example
 * connected.pipe(exec('exit 17'), expectSuccess());
 * // errors: remote execution failed ... └─ commands are failed on all 3 nodes └─ code 17 (3 nodes)
 */
export function expectSuccess(
  config: ExpectSuccessConfig = {},
): MonoTypeOperatorFunction<HostEvent> {
  return (source) =>
    defer(() => {
      const failures = new Map<string, string[]>();
      let finished = 0;
      let failed = 0;
      const record = (event: HostEvent) => {
        if (event.kind !== 'exit') return;
        finished += 1;
        if (event.code === 0 && event.error === undefined) return;
        failed += 1;
        const key =
          event.code !== null
            ? `code ${event.code}`
            : event.signal !== null
              ? `signal ${event.signal}`
              : errorGroup(event.error);
        const node = event.host.node;
        const why = event.error instanceof Error ? event.error.message : '';
        const line = why.includes(node) ? why : why === '' ? node : `${node}: ${why}`;
        const group = failures.get(key);
        if (group) group.push(line);
        else failures.set(key, [line]);
      };
      const verdict = () => {
        if (failed === 0) return EMPTY;
        const scope =
          failed === finished
            ? `commands are failed on all ${finished} nodes`
            : `commands are failed on ${failed} out of ${finished} nodes`;
        const groups = [...failures].map(
          ([key, hosts]) =>
            new OrgalorgError(`${key} (${hosts.length} nodes)`, {
              code: 'exec.exit',
              children: hosts,
            }),
        );
        return throwError(
          () =>
            new OrgalorgError(
              config.message ??
                'remote execution failed, because one of command has been exited with non-zero exit code (or timed out) at least on one node',
              {
                code: 'exec.cluster',
                children: [new OrgalorgError(scope, { code: 'exec.cluster', children: groups })],
              },
            ),
        );
      };
      return source.pipe(tap(record), concatWith(defer(verdict)));
    });
}
