import { concatWith, defer, EMPTY, tap, throwError, type MonoTypeOperatorFunction } from 'rxjs';
import { isOrgalorgError, OrgalorgError } from '../errors.js';
import type { HostEvent, HostSpec } from '../types.js';

/**
 * Passes every event through and, once the source completes, errors if any host's command
 * failed: code `exec.cluster`, with one `code N (M nodes)` child per exit status (and one for
 * lost connections), each naming its hosts. Other hosts are never cut short by one failure.
 *
 * @example
 * connected.pipe(exec('exit 17'), expectSuccess());
 * // errors: remote execution failed ... └─ commands are failed on all 3 nodes └─ code 17 (3 nodes)
 */
export function expectSuccess(): MonoTypeOperatorFunction<HostEvent> {
  return (source) =>
    defer(() => {
      const failures = new Map<string, HostSpec[]>();
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
              : isOrgalorgError(event.error) && event.error.code === 'exec.start'
                ? 'not started'
                : 'connection lost';
        failures.set(key, [...(failures.get(key) ?? []), event.host]);
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
              children: hosts.map((host) => host.node),
            }),
        );
        return throwError(
          () =>
            new OrgalorgError(
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
