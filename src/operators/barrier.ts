import { filter, map, scan, takeWhile, type OperatorFunction } from 'rxjs';
import type { HostEvent, HostSpec } from '../types.js';

/**
 * A sync barrier over the merged events of every host: emits the hosts, once, when `count`
 * different hosts have sent `SYNC <step>` (see {@link syncProtocol}), then completes.
 *
 * Errors when the source errors; completes without emitting when the source completes first.
 *
 * @example
 * events.pipe(barrier('phase 1 done', hosts.length)).subscribe(() => console.log('all done'));
 */
export function barrier(step: string, count: number): OperatorFunction<HostEvent, HostSpec[]> {
  return (source) =>
    source.pipe(
      filter((event) => event.kind === 'sync' && event.text === step),
      scan(
        (reached, event) => new Map(reached).set(event.host.node, event.host),
        new Map<string, HostSpec>(),
      ),
      map((reached) => [...reached.values()]),
      takeWhile((reached) => reached.length < count, true),
      filter((reached) => reached.length >= count),
    );
}
