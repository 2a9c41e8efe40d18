import { mergeMap, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import { allHosts } from '../../src/operators/all-hosts.js';
import { createTestScheduler } from './test-scheduler.js';

describe('allHosts', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should hold every value until the source completes, then emit them all in order', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a--b-c-|');
      const sourceSubs = '   ^-------!';
      const expected = '     --------(abc|)';

      expectObservable(source.pipe(allHosts())).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should emit one value at completion for one host', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  --a|');
      const sourceSubs = '   ^--!';
      const expected = '     ---(a|)';

      expectObservable(source.pipe(allHosts())).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('|');
      const sourceSubs = ' (^!)';
      const expected = '   |';

      expectObservable(source.pipe(allHosts())).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should emit nothing for a source that never ends', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b--');
      const sourceSubs = '   ^';
      const expected = '     ------';

      expectObservable(source.pipe(allHosts())).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass the source error through and drop what it held', () => {
    const lockLost = new OrgalorgError('[root@web1:22] heartbeat failed', {
      code: 'heartbeat.lost',
      exitCode: 2,
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-#', undefined, lockLost);
      const sourceSubs = '   ^----!';
      const expected = '     -----#';

      expectObservable(source.pipe(allHosts())).toBe(expected, undefined, lockLost);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should emit nothing when unsubscribed before the source completes', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-|');
      const sourceSubs = '   ^---!';
      const unsub = '        ----!';
      const expected = '     ----';

      expectObservable(source.pipe(allHosts()), unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-|');
      const sourceSubs = '   ^---!';
      const unsub = '        ----!';
      const expected = '     ----';

      const result = source.pipe(
        mergeMap((value) => of(value)),
        allHosts(),
        mergeMap((value) => of(value)),
      );
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });
});
