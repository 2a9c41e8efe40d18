import { mergeMap, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import { expectSuccess } from '../../src/operators/expect-success.js';
import type { ExecEvent, HostEvent, HostSpec } from '../../src/types.js';
import { exit, stdout, testHost } from '../support/fake-transport.js';
import { createTestScheduler } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');
const web3 = testHost('web3');

const tagged = (host: HostSpec, event: ExecEvent): HostEvent => ({ ...event, host });

const lost = new OrgalorgError('[root@web3:22] connection lost', {
  code: 'exec.lost',
  host: web3,
});

const events = {
  o: tagged(web1, stdout('ok\n')),
  a: tagged(web1, exit(0)),
  b: tagged(web2, exit(0)),
  c: tagged(web3, exit(0)),
  d: tagged(web1, exit(2)),
  e: tagged(web2, exit(17)),
  f: tagged(web3, exit(17)),
  k: tagged(web2, exit(null, 'KILL')),
  l: { ...tagged(web3, exit(null)), error: lost },
};

const REMOTE_FAILED =
  'remote execution failed, because one of command has been exited with non-zero exit code (or timed out) at least on one node';

/**
 * The error tree: the scope line, then one child per exit status naming its hosts (or, for a
 * host whose command did not end normally, the error that says why).
 */
function executionError(scope: string, groups: Record<string, readonly (HostSpec | string)[]>) {
  const children = Object.entries(groups).map(
    ([status, hosts]) =>
      new OrgalorgError(`${status} (${hosts.length} nodes)`, {
        code: 'exec.exit',
        children: hosts.map((host) => (typeof host === 'string' ? host : host.node)),
      }),
  );
  return new OrgalorgError(REMOTE_FAILED, {
    code: 'exec.cluster',
    children: [new OrgalorgError(scope, { code: 'exec.cluster', children })],
  });
}

describe('expectSuccess', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should pass every event through and complete when every host exits with 0', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -o-a-bc|', events);
      const sourceSubs = '   ^------!';
      const expected = '     -o-a-bc|';

      expectObservable(source.pipe(expectSuccess())).toBe(expected, events);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should fail after every host exited when some hosts exit non-zero', () => {
    const error = executionError('commands are failed on 2 out of 3 nodes', {
      'code 17': [web2, web3],
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -e-a--f|', events);
      const sourceSubs = '   ^------!';
      const expected = '     -e-a--f#';

      expectObservable(source.pipe(expectSuccess())).toBe(expected, events, error);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should group the hosts per exit status when every host fails', () => {
    const error = executionError('commands are failed on all 3 nodes', {
      'code 17': [web2, web3],
      'code 2': [web1],
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -e-d-f|', events);
      const sourceSubs = '   ^-----!';
      const expected = '     -e-d-f#';

      expectObservable(source.pipe(expectSuccess())).toBe(expected, events, error);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should count a killed command and a lost connection as failures', () => {
    const error = executionError('commands are failed on 2 out of 3 nodes', {
      'signal KILL': [web2],
      'connection lost': [lost.message],
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-k-l|', events);
      const sourceSubs = '   ^-----!';
      const expected = '     -a-k-l#';

      expectObservable(source.pipe(expectSuccess())).toBe(expected, events, error);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<HostEvent>('|');
      const sourceSubs = '            (^!)';
      const expected = '              |';

      expectObservable(source.pipe(expectSuccess())).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass a source error through rather than judge the hosts', () => {
    const upstream = new OrgalorgError('connecting to cluster failed', { code: 'connect.cluster' });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -e-#', events, upstream);
      const sourceSubs = '   ^--!';
      const expected = '     -e-#';

      expectObservable(source.pipe(expectSuccess())).toBe(expected, events, upstream);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -e-a--f|', events);
      const sourceSubs = '   ^--!';
      const unsub = '        ---!';
      const expected = '     -e-';

      const result = source.pipe(
        mergeMap((event) => of(event)),
        expectSuccess(),
        mergeMap((event) => of(event)),
      );
      expectObservable(result, unsub).toBe(expected, events);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });
});
