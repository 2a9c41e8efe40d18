import { concat, merge, mergeMap, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import { barrier } from '../../src/operators/barrier.js';
import type { HostEvent, HostSpec } from '../../src/types.js';
import { stdout, testHost } from '../support/fake-transport.js';
import { createTestScheduler } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');
const web3 = testHost('web3');

const sync = (host: HostSpec, text: string): HostEvent => ({ kind: 'sync', text, host });

/** What the hosts' sync tools say, merged as `syncProtocol` emits it. */
const events = {
  a: sync(web1, 'phase 1'),
  b: sync(web2, 'phase 1'),
  c: sync(web3, 'phase 1'),
  o: { ...stdout('checked 1204 files\n'), host: web1 },
  p: sync(web2, 'phase 2'),
  x: { kind: 'exit', code: 0, signal: null, host: web3 } satisfies HostEvent,
};

describe('barrier', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should emit the hosts once when every host has sent the step, then complete', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-|', events);
      const sourceSubs = '   ^----!';
      const expected = '     -----(h|)';

      expectObservable(source.pipe(barrier('phase 1', 3))).toBe(expected, {
        h: [web1, web2, web3],
      });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should wait for the slowest host and list the hosts in the order they arrived', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Events = cold('  ----o--a----|', events);
      const web1EventsSubs = '   ^-----------!';
      const web2Events = cold('  --------------b|', events);
      const web3Events = cold('  -c-----------x---|', events);
      const hostsSubs = '        ^-------------!';
      const expected = '         --------------(h|)';

      const result = merge(web1Events, web2Events, web3Events).pipe(barrier('phase 1', 3));
      expectObservable(result).toBe(expected, { h: [web3, web1, web2] });
      expectSubscriptions(web1Events.subscriptions).toBe(web1EventsSubs);
      expectSubscriptions(web2Events.subscriptions).toBe(hostsSubs);
      expectSubscriptions(web3Events.subscriptions).toBe(hostsSubs);
    });
  });

  it('should count a host that sends the step twice once', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-a-a-b-|', events);
      const sourceSubs = '   ^------!';
      const expected = '     -------(h|)';

      expectObservable(source.pipe(barrier('phase 1', 2))).toBe(expected, { h: [web1, web2] });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should ignore other steps and other events', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -o-p-x-a-b-|', events);
      const sourceSubs = '   ^--------!';
      const expected = '     ---------(h|)';

      expectObservable(source.pipe(barrier('phase 1', 2))).toBe(expected, { h: [web1, web2] });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should count afresh on every subscription', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b|', events);
      const firstSubs = '    ^--!';
      const secondSubs = '   ---^--!';
      const expected = '     ---h--(h|)';

      const once = source.pipe(barrier('phase 1', 2));
      expectObservable(concat(once, once)).toBe(expected, { h: [web1, web2] });
      expectSubscriptions(source.subscriptions).toBe([firstSubs, secondSubs]);
    });
  });

  it('should complete without a value when the source completes first', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-p-b-|', events);
      const sourceSubs = '   ^------!';
      const expected = '     -------|';

      expectObservable(source.pipe(barrier('phase 1', 3))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<HostEvent>('|');
      const sourceSubs = '            (^!)';
      const expected = '              |';

      expectObservable(source.pipe(barrier('phase 1', 1))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should emit nothing while the source never ends short of the count', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b---', events);
      const sourceSubs = '   ^';
      const expected = '     -------';

      expectObservable(source.pipe(barrier('phase 1', 3))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass the source error through', () => {
    const lost = new OrgalorgError('failed to run sync command', { code: 'sync', host: web2 });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-#', events, lost);
      const sourceSubs = '   ^--!';
      const expected = '     ---#';

      expectObservable(source.pipe(barrier('phase 1', 2))).toBe(expected, undefined, lost);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should emit nothing when unsubscribed before the count is reached', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-----b-|', events);
      const sourceSubs = '   ^--!';
      const unsub = '        ---!';
      const expected = '     ---';

      expectObservable(source.pipe(barrier('phase 1', 2)), unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-----b-|', events);
      const sourceSubs = '   ^---!';
      const unsub = '        ----!';
      const expected = '     ----';

      const result = source.pipe(
        mergeMap((event) => of(event)),
        barrier('phase 1', 2),
        mergeMap((hosts) => of(hosts)),
      );
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });
});
