import type { HostEvent } from '../types.js';
import type { Sink } from './output.js';

/**
 * Keeps each host's output together (`-l`): the first host to write owns the output until its
 * command exits; other hosts' output is held meanwhile (the remote side never stalls), then
 * written as one block per host, in the order hosts first wrote.
 */
export function serial(sink: Sink): Sink {
  const held = new Map<string, HostEvent[]>();
  let owner: string | undefined;

  const pass = (event: HostEvent) => {
    sink.next(event);
    if (event.kind === 'exit' && event.host.node === owner) handOver();
  };
  const handOver = () => {
    owner = undefined;
    for (const [node, events] of held) {
      held.delete(node);
      owner = node;
      events.forEach((event) => sink.next(event));
      if (events.at(-1)?.kind !== 'exit') return;
      owner = undefined;
    }
  };
  const drain = () => {
    for (const events of held.values()) events.forEach((event) => sink.next(event));
    held.clear();
  };

  return {
    paused: sink.paused,
    next: (event) => {
      const node = event.host.node;
      owner ??= node;
      if (node === owner) return pass(event);
      const queue = held.get(node);
      if (queue) queue.push(event);
      else held.set(node, [event]);
    },
    error: (error) => {
      drain();
      sink.error(error);
    },
    complete: () => {
      drain();
      sink.complete();
    },
  };
}
