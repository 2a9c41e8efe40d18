import { mergeMap, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import { connect } from '../../src/operators/connect.js';
import { Session } from '../../src/session.js';
import type { HostSpec } from '../../src/types.js';
import { FakeTransport, testHost } from '../support/fake-transport.js';
import { comparable, createTestScheduler, recordLog } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');
const web3 = testHost('web3');
const hosts = { a: web1, b: web2, c: web3 };

const refused = new OrgalorgError("can't connect to address: [root@web2:22]", {
  code: 'connect',
  host: web2,
});

/** What a strict connect reports, in orgalorg's words, when `failures` of `tried` hosts failed. */
function clusterError(tried: number, failures: readonly unknown[]): OrgalorgError {
  const nodes = new OrgalorgError("can't connect to nodes", {
    code: 'connect.cluster',
    children: failures,
  });
  const count = new OrgalorgError(`connection to ${failures.length} of ${tried} nodes failed`, {
    code: 'connect.cluster',
    children: [nodes],
  });
  return new OrgalorgError('connecting to cluster failed', {
    code: 'connect.cluster',
    children: [count],
  });
}

describe('connect', () => {
  let testScheduler: TestScheduler;
  let session: Session;

  beforeEach(() => {
    testScheduler = createTestScheduler();
    session = new Session();
  });

  it('should connect to every host at once and emit each as it connects', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     (abc|)', hosts);
      const sourceSubs = '      (^!)';
      const web1Connect = cold('---(c|)');
      const web1Subs = '        ^--!';
      const web2Connect = cold('-(c|)');
      const web2Subs = '        ^!';
      const web3Connect = cold('--(c|)');
      const web3Subs = '        ^-!';
      const expected = '        -bc(a|)';

      const transport = new FakeTransport(testScheduler, {
        web1: { connect: web1Connect },
        web2: { connect: web2Connect },
        web3: { connect: web3Connect },
      });
      const values = {
        a: transport.connected(web1, session),
        b: transport.connected(web2, session),
        c: transport.connected(web3, session),
      };

      expectObservable(source.pipe(connect({ transport, session }))).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Connect.subscriptions).toBe(web1Subs);
      expectSubscriptions(web2Connect.subscriptions).toBe(web2Subs);
      expectSubscriptions(web3Connect.subscriptions).toBe(web3Subs);
    });
  });

  it('should start the third host only when one of the first two is done, at concurrency 2', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     (abc|)', hosts);
      const sourceSubs = '      (^!)';
      const web1Connect = cold('---(c|)');
      const web1Subs = '        ^--!';
      const web2Connect = cold('------(c|)');
      const web2Subs = '        ^-----!';
      const web3Connect = cold('   --(c|)');
      const web3Subs = '        ---^-!';
      const expected = '        ---a-c(b|)';

      const transport = new FakeTransport(testScheduler, {
        web1: { connect: web1Connect },
        web2: { connect: web2Connect },
        web3: { connect: web3Connect },
      });
      const values = {
        a: transport.connected(web1, session),
        b: transport.connected(web2, session),
        c: transport.connected(web3, session),
      };

      const result = source.pipe(connect({ transport, session, concurrency: 2 }));
      expectObservable(result).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Connect.subscriptions).toBe(web1Subs);
      expectSubscriptions(web2Connect.subscriptions).toBe(web2Subs);
      expectSubscriptions(web3Connect.subscriptions).toBe(web3Subs);
    });
  });

  it('should fail the run after every other host was tried when one is unreachable and strict', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     (abc|)', hosts);
      const sourceSubs = '      (^!)';
      const web1Connect = cold('---(c|)');
      const web1Subs = '        ^--!';
      const web2Connect = cold('--#', undefined, refused);
      const web2Subs = '        ^-!';
      const web3Connect = cold('-----(c|)');
      const web3Subs = '        ^----!';
      const expected = '        ---a-(c#)';

      const transport = new FakeTransport(testScheduler, {
        web1: { connect: web1Connect },
        web2: { connect: web2Connect },
        web3: { connect: web3Connect },
      });
      const values = {
        a: transport.connected(web1, session),
        c: transport.connected(web3, session),
      };

      const result = source.pipe(connect({ transport, session, failover: 'strict' }));
      expectObservable(result).toBe(expected, values, clusterError(3, [refused]));
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Connect.subscriptions).toBe(web1Subs);
      expectSubscriptions(web2Connect.subscriptions).toBe(web2Subs);
      expectSubscriptions(web3Connect.subscriptions).toBe(web3Subs);
    });
  });

  it('should be strict by default and list every unreachable host', () => {
    const timedOut = new OrgalorgError("can't connect to address: [root@web3:22]", {
      code: 'connect',
      host: web3,
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     (abc|)', hosts);
      const sourceSubs = '      (^!)';
      const web1Connect = cold('-(c|)');
      const web2Connect = cold('--#', undefined, refused);
      const web3Connect = cold('----#', undefined, timedOut);
      const expected = '        -a--#';

      const transport = new FakeTransport(testScheduler, {
        web1: { connect: web1Connect },
        web2: { connect: web2Connect },
        web3: { connect: web3Connect },
      });
      const values = { a: transport.connected(web1, session) };

      const result = source.pipe(connect({ transport, session }));
      expectObservable(result).toBe(expected, values, clusterError(3, [refused, timedOut]));
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should drop an unreachable host and warn when loose', () => {
    const { log, entries } = recordLog(testScheduler);

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     (abc|)', hosts);
      const sourceSubs = '      (^!)';
      const web1Connect = cold('---(c|)');
      const web2Connect = cold('--#', undefined, refused);
      const web2Subs = '        ^-!';
      const web3Connect = cold('-----(c|)');
      const expected = '        ---a-(c|)';

      const transport = new FakeTransport(testScheduler, {
        web1: { connect: web1Connect },
        web2: { connect: web2Connect },
        web3: { connect: web3Connect },
      });
      const values = {
        a: transport.connected(web1, session),
        c: transport.connected(web3, session),
      };

      const result = source.pipe(connect({ transport, session, failover: 'loose', log }));
      expectObservable(result).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web2Connect.subscriptions).toBe(web2Subs);
    });

    const warnings = entries.filter((entry) => entry.level === 'warn');
    expect(comparable(warnings)).toEqual(
      comparable([
        { level: 'warn', message: refused.message, host: web2, error: refused, frame: 2 },
      ]),
    );
  });

  it('should give every connection to the session, which closes them', () => {
    const transport = new FakeTransport(testScheduler);

    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('  (ab|)', hosts);
      const expected = '     (ab|)';
      const values = {
        a: transport.connected(web1, session),
        b: transport.connected(web2, session),
      };

      expectObservable(source.pipe(connect({ transport, session }))).toBe(expected, values);
      testScheduler.schedule(() => void session.close(), 4);
    });

    expect(transport.connection(web1).closedAt).toBe(4);
    expect(transport.connection(web2).closedAt).toBe(4);
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<HostSpec>('|');
      const sourceSubs = '           (^!)';
      const expected = '             |';

      const transport = new FakeTransport(testScheduler);

      expectObservable(source.pipe(connect({ transport, session }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should neither emit nor end for a source that never emits', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<HostSpec>('-');
      const sourceSubs = '           ^';
      const expected = '             -';

      const transport = new FakeTransport(testScheduler);

      expectObservable(source.pipe(connect({ transport, session }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass the source error through and abort the connects in flight', () => {
    const unreadable = new OrgalorgError("can't read hosts file './hosts'", { code: 'hosts.file' });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     -a-#', hosts, unreadable);
      const sourceSubs = '      ^--!';
      const web1Connect = cold(' -----(c|)');
      const web1Subs = '        -^-!';
      const expected = '        ---#';

      const transport = new FakeTransport(testScheduler, { web1: { connect: web1Connect } });

      const result = source.pipe(connect({ transport, session }));
      expectObservable(result).toBe(expected, undefined, unreadable);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Connect.subscriptions).toBe(web1Subs);
    });
  });

  it('should abort the connects in flight when unsubscribed early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     (abc|)', hosts);
      const sourceSubs = '      (^!)';
      const web1Connect = cold('-----(c|)');
      const web2Connect = cold('-----(c|)');
      const web3Connect = cold('-----(c|)');
      const connectSubs = '     ^-!';
      const unsub = '           --!';
      const expected = '        --';

      const transport = new FakeTransport(testScheduler, {
        web1: { connect: web1Connect },
        web2: { connect: web2Connect },
        web3: { connect: web3Connect },
      });

      expectObservable(source.pipe(connect({ transport, session })), unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Connect.subscriptions).toBe(connectSubs);
      expectSubscriptions(web2Connect.subscriptions).toBe(connectSubs);
      expectSubscriptions(web3Connect.subscriptions).toBe(connectSubs);
    });
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('     -a-b----', hosts);
      const sourceSubs = '      ^---!';
      const web1Connect = cold(' -----(c|)');
      const web1Subs = '        -^--!';
      const web2Connect = cold('   -----(c|)');
      const web2Subs = '        ---^!';
      const unsub = '           ----!';
      const expected = '        ----';

      const transport = new FakeTransport(testScheduler, {
        web1: { connect: web1Connect },
        web2: { connect: web2Connect },
      });

      const result = source.pipe(
        mergeMap((host) => of(host)),
        connect({ transport, session }),
        mergeMap((target) => of(target)),
      );
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Connect.subscriptions).toBe(web1Subs);
      expectSubscriptions(web2Connect.subscriptions).toBe(web2Subs);
    });
  });
});
