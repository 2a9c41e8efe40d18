import { mergeMap, of, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import type { ConnectedHost } from '../../src/host.js';
import { lock } from '../../src/operators/lock.js';
import { Session } from '../../src/session.js';
import type { ExecEvent, HostSpec } from '../../src/types.js';
import {
  exit,
  FakeTransport,
  stdout,
  testHost,
  type FakeHostScript,
} from '../support/fake-transport.js';
import { comparable, createTestScheduler, recordLog } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');

const replies = {
  a: stdout('acquired\n'),
  l: stdout('locked\n'),
  x: exit(0),
};

/** A host whose lock command (the one running `flock`) answers with `events`. */
function lockScript(events: Observable<ExecEvent>): FakeHostScript {
  return { commands: [{ match: (command) => command.includes('flock -nx'), events }] };
}

const lockAlready = (host: HostSpec) =>
  new OrgalorgError(
    `${host.node} can't acquire lock, lock already obtained by another process or unavailable`,
    { code: 'lock.held', host },
  );

/** What a strict stage reports when `failures` of `tried` hosts failed: orgalorg's words. */
function clusterError(tried: number, failures: readonly unknown[]): OrgalorgError {
  const nodes = new OrgalorgError("can't lock nodes", {
    code: 'connect.cluster',
    children: failures,
  });
  const count = new OrgalorgError(`lock on ${failures.length} of ${tried} nodes failed`, {
    code: 'connect.cluster',
    children: [nodes],
  });
  return new OrgalorgError('connecting to cluster failed', {
    code: 'connect.cluster',
    children: [count],
  });
}

describe('lock', () => {
  let testScheduler: TestScheduler;
  let session: Session;
  let transport: FakeTransport;
  let targets: { a: ConnectedHost; b: ConnectedHost };

  /** A connected host as the lock emits it once locked. */
  const locked = (target: ConnectedHost) => ({
    ...target,
    lock: expect.objectContaining({ path: '/srv/app' }),
  });

  const useHosts = (scripts: Record<string, FakeHostScript>) => {
    transport = new FakeTransport(testScheduler, scripts);
    targets = { a: transport.connected(web1, session), b: transport.connected(web2, session) };
  };

  beforeEach(() => {
    testScheduler = createTestScheduler();
    session = new Session();
  });

  it('should emit each host with its lock once the lock command says acquired', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('--a', replies);
      const web2Lock = cold('-a', replies);
      useHosts({ web1: lockScript(web1Lock), web2: lockScript(web2Lock) });
      const source = cold('  (ab|)', targets);
      const sourceSubs = '   (^!)';
      const expected = '     -b(a|)';
      const values = { a: locked(targets.a), b: locked(targets.b) };

      expectObservable(source.pipe(lock({ path: '/srv/app' }))).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(transport.runs.map((run) => run.host.raw)).toEqual(['web1', 'web2']);
    expect(transport.runs[0]?.command).toContain('file=/srv/app');
  });

  it('should read the status line even when it comes in pieces', () => {
    const pieces = { p: stdout('acq'), q: stdout('uired\nPI') };

    testScheduler.run(({ cold, expectObservable }) => {
      useHosts({ web1: lockScript(cold('-p-q', pieces)) });
      const source = cold('  (a|)', targets);
      const expected = '     ---(a|)';

      const values = { a: locked(targets.a) };
      expectObservable(source.pipe(lock({ path: '/srv/app' }))).toBe(expected, values);
    });
  });

  it('should keep the lock held after completing, until the session closes', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('-a', replies);
      const web1LockSubs = ' ^-----!';
      useHosts({ web1: lockScript(web1Lock) });
      const source = cold('  (a|)', targets);
      const expected = '     -(a|)';
      const close = '        ------x';

      const values = { a: locked(targets.a) };
      expectObservable(source.pipe(lock({ path: '/srv/app' }))).toBe(expected, values);
      expectSubscriptions(web1Lock.subscriptions).toBe(web1LockSubs);
      cold(close).subscribe(() => void session.close());
    });

    expect(transport.runs[0]?.stoppedAt).toBe(6);
  });

  it('should fail when another process holds the lock and strict', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('--a', replies);
      const web2Lock = cold('-l--x', replies);
      const web2LockSubs = ' ^!';
      useHosts({ web1: lockScript(web1Lock), web2: lockScript(web2Lock) });
      const source = cold('  (ab|)', targets);
      const expected = '     --(a#)';
      const values = { a: locked(targets.a) };
      const error = clusterError(2, [lockAlready(web2)]);

      expectObservable(source.pipe(lock({ path: '/srv/app' }))).toBe(expected, values, error);
      expectSubscriptions(web2Lock.subscriptions).toBe(web2LockSubs);
    });
  });

  it('should warn and keep the host without a lock when the lock is held elsewhere and loose', () => {
    const { log, entries } = recordLog(testScheduler);

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('--a', replies);
      const web2Lock = cold('-l--x', replies);
      const web2LockSubs = ' ^!';
      useHosts({ web1: lockScript(web1Lock), web2: lockScript(web2Lock) });
      const source = cold('  (ab|)', targets);
      const expected = '     -b(a|)';
      const values = { a: locked(targets.a), b: targets.b };

      const result = source.pipe(lock({ path: '/srv/app', failover: 'loose', log }));
      expectObservable(result).toBe(expected, values);
      expectSubscriptions(web2Lock.subscriptions).toBe(web2LockSubs);
    });

    const warnings = entries.filter((entry) => entry.level === 'warn');
    const error = lockAlready(web2);
    expect(warnings[0]?.message).toContain('lock already');
    expect(comparable(warnings)).toEqual(
      comparable([{ level: 'warn', message: error.message, host: web2, error, frame: 1 }]),
    );
  });

  it('should fail a host whose lock command answers something unexpected', () => {
    const unexpected = new OrgalorgError(
      "[root@web1:22] unexpected reply string encountered instead of 'acquired' or 'locked': 'sh: 1: flock: Permission denied'",
      { code: 'lock.failed', host: web1 },
    );

    testScheduler.run(({ cold, expectObservable }) => {
      const events = { s: stdout('sh: 1: flock: Permission denied\n') };
      useHosts({ web1: lockScript(cold('-s', events)) });
      const source = cold('  (a|)', targets);
      const expected = '     -#';

      const result = source.pipe(lock({ path: '/srv/app' }));
      expectObservable(result).toBe(expected, undefined, clusterError(1, [unexpected]));
    });
  });

  it('should fail a host whose lock command exits before its status line', () => {
    const silent = new OrgalorgError(
      "[root@web1:22] can't read lock status line from lock process",
      { code: 'lock.failed', host: web1 },
    );

    testScheduler.run(({ cold, expectObservable }) => {
      useHosts({ web1: lockScript(cold('--(x|)', replies)) });
      const source = cold('  (a|)', targets);
      const expected = '     --#';

      const result = source.pipe(lock({ path: '/srv/app' }));
      expectObservable(result).toBe(expected, undefined, clusterError(1, [silent]));
    });
  });

  it('should fail a host whose lock command cannot start', () => {
    const refused = new OrgalorgError('[root@web1:22] connection lost: channel open failure', {
      code: 'exec.lost',
      host: web1,
    });
    const unstarted = new OrgalorgError("[root@web1:22] can't start lock command", {
      code: 'lock.failed',
      host: web1,
      cause: refused,
    });

    testScheduler.run(({ cold, expectObservable }) => {
      useHosts({ web1: lockScript(cold('-#', undefined, refused)) });
      const source = cold('  (a|)', targets);
      const expected = '     -#';

      const result = source.pipe(lock({ path: '/srv/app' }));
      expectObservable(result).toBe(expected, undefined, clusterError(1, [unstarted]));
    });
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<ConnectedHost>('|');
      const sourceSubs = '                (^!)';
      const expected = '                  |';

      expectObservable(source.pipe(lock({ path: '/srv/app' }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass the source error through and stop the lock commands in flight', () => {
    const upstream = new OrgalorgError('connecting to cluster failed', { code: 'connect.cluster' });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('   ----a', replies);
      const web1LockSubs = '   -^-!';
      useHosts({ web1: lockScript(web1Lock) });
      const source = cold('    -a-#', targets, upstream);
      const sourceSubs = '     ^--!';
      const expected = '       ---#';

      expectObservable(source.pipe(lock({ path: '/srv/app' }))).toBe(expected, undefined, upstream);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Lock.subscriptions).toBe(web1LockSubs);
    });

    expect(transport.runs[0]?.stoppedAt).toBe(3);
  });

  it('should stop the lock commands in flight when unsubscribed early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('----a', replies);
      const web2Lock = cold('----a', replies);
      const lockSubs = '     ^-!';
      useHosts({ web1: lockScript(web1Lock), web2: lockScript(web2Lock) });
      const source = cold('  (ab|)', targets);
      const sourceSubs = '   (^!)';
      const unsub = '        --!';
      const expected = '     --';

      expectObservable(source.pipe(lock({ path: '/srv/app' })), unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Lock.subscriptions).toBe(lockSubs);
      expectSubscriptions(web2Lock.subscriptions).toBe(lockSubs);
    });

    expect(transport.runs.map((run) => run.stoppedAt)).toEqual([2, 2]);
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('  ----a', replies);
      const web1LockSubs = '  -^--!';
      useHosts({ web1: lockScript(web1Lock) });
      const source = cold('   -a------', targets);
      const sourceSubs = '    ^---!';
      const unsub = '         ----!';
      const expected = '      ----';

      const result = source.pipe(
        mergeMap((target) => of(target)),
        lock({ path: '/srv/app' }),
        mergeMap((target) => of(target)),
      );
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Lock.subscriptions).toBe(web1LockSubs);
    });
  });
});
