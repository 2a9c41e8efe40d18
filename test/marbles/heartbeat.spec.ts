import { map, merge, mergeMap, of, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import type { ConnectedHost } from '../../src/host.js';
import { heartbeat } from '../../src/operators/heartbeat.js';
import { lock } from '../../src/operators/lock.js';
import { Session } from '../../src/session.js';
import type { HostSpec } from '../../src/types.js';
import {
  exit,
  FakeTransport,
  stdout,
  testHost,
  type FakeCommand,
  type FakeHostScript,
} from '../support/fake-transport.js';
import { createTestScheduler, recordLog } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');

/** Pings every 4 frames, in the diagrams below. */
const period = 4;

/** What the lock command says: `acquired`, then the echo of each PING, or something else. */
const replies = {
  a: stdout('acquired\n'),
  p: stdout('PING\n'),
  q: stdout('PONG\n'),
  x: exit(1),
};
const pings = { p: 'PING\n' };

function lockScript(events: FakeCommand['events']): FakeHostScript {
  return { commands: [{ match: (command) => command.includes('flock -nx'), events }] };
}

const lost = (host: HostSpec, why: string) =>
  new OrgalorgError(`${host.node} heartbeat failed: ${why}`, {
    code: 'heartbeat.lost',
    host,
    exitCode: 2,
  });

describe('heartbeat', () => {
  let testScheduler: TestScheduler;
  let session: Session;
  let transport: FakeTransport;
  let targets: { a: ConnectedHost; b: ConnectedHost };

  const locked = (target: ConnectedHost) => ({
    ...target,
    lock: expect.objectContaining({ path: '/' }),
  });

  /** The hosts, locked through the fake lock command, then watched. */
  const watched = (source: Observable<ConnectedHost>) =>
    source.pipe(lock({ path: '/' }), heartbeat({ period, scheduler: testScheduler }));

  const useHosts = (scripts: Record<string, FakeHostScript>) => {
    transport = new FakeTransport(testScheduler, scripts);
    targets = { a: transport.connected(web1, session), b: transport.connected(web2, session) };
  };

  beforeEach(() => {
    testScheduler = createTestScheduler();
    session = new Session();
  });

  it('should ping at once, then once per period, while every ping is answered', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('  -a-p---p---p', replies);
      const web1LockSubs = '   ^--------------!';
      useHosts({ web1: lockScript(web1Lock) });
      const source = cold('    (a|)', targets);
      const sourceSubs = '     (^!)';
      const expected = '       -(a|)';
      const web1Pings = '      -p---p---p---p';
      const failed = '         ---------------';
      const close = '          ---------------x';

      expectObservable(watched(source)).toBe(expected, { a: locked(targets.a) });
      expectObservable(transport.stdin(web1)).toBe(web1Pings, pings);
      expectObservable(session.failed).toBe(failed);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Lock.subscriptions).toBe(web1LockSubs);
      cold(close).subscribe(() => void session.close());
    });
  });

  it('should take an echo that comes back at once as the answer', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const acquired = cold('  -a', replies);
      // The remote `cat` with no delay: every line written comes straight back.
      const echo = (stdin: Observable<string>) => merge(acquired, stdin.pipe(map(stdout)));
      useHosts({ web1: lockScript(echo) });
      const source = cold('    (a|)', targets);
      const web1Pings = '      -p---p---p';
      const failed = '         -----------';
      const close = '          -----------x';

      watched(source).subscribe();
      expectObservable(transport.stdin(web1)).toBe(web1Pings, pings);
      expectObservable(session.failed).toBe(failed);
      cold(close).subscribe(() => void session.close());
    });
  });

  it('should fail the session when a ping has no reply by the next one', () => {
    const { log, entries } = recordLog(testScheduler);
    const error = lost(web1, "can't receive heartbeat: no reply within 4 ms");

    testScheduler.run(({ cold, expectObservable }) => {
      useHosts({ web1: lockScript(cold('-a', replies)) });
      const source = cold('    (a|)', targets);
      const expected = '       -(a|)';
      const web1Pings = '      -p---';
      const failed = '         -----#';

      const result = source.pipe(
        lock({ path: '/' }),
        heartbeat({ period, scheduler: testScheduler, log }),
      );
      expectObservable(result).toBe(expected, { a: locked(targets.a) });
      expectObservable(transport.stdin(web1)).toBe(web1Pings, pings);
      expectObservable(session.failed).toBe(failed, undefined, error);
    });

    const errors = entries.filter((entry) => entry.level === 'error');
    expect(errors.map(({ frame, host, message }) => ({ frame, host, message }))).toEqual([
      { frame: 5, host: web1, message: error.message },
    ]);
  });

  it('should fail the session at once when the lock process ends', () => {
    const error = lost(web1, 'the lock is lost: its process on the host ended with code 1');

    testScheduler.run(({ cold, expectObservable }) => {
      useHosts({ web1: lockScript(cold('-a-px', replies)) });
      const source = cold('    (a|)', targets);
      const web1Pings = '      -p--';
      const failed = '         ----#';

      watched(source).subscribe();
      expectObservable(transport.stdin(web1)).toBe(web1Pings, pings);
      expectObservable(session.failed).toBe(failed, undefined, error);
    });
  });

  it('should fail the session at once when the lock channel is lost', () => {
    const channelLost = new OrgalorgError('[root@web1:22] connection lost', {
      code: 'exec.lost',
      host: web1,
    });
    const error = lost(web1, 'the lock is lost: [root@web1:22] connection lost');

    testScheduler.run(({ cold, expectObservable }) => {
      useHosts({ web1: lockScript(cold('-a-p--#', replies, channelLost)) });
      const source = cold('    (a|)', targets);
      const web1Pings = '      -p---p';
      const failed = '         ------#';

      watched(source).subscribe();
      expectObservable(transport.stdin(web1)).toBe(web1Pings, pings);
      expectObservable(session.failed).toBe(failed, undefined, error);
    });
  });

  it('should fail the session when a reply is not the echo of the ping', () => {
    const error = lost(web1, "received unexpected heartbeat ping: 'PONG'");

    testScheduler.run(({ cold, expectObservable }) => {
      useHosts({ web1: lockScript(cold('-a-q', replies)) });
      const source = cold('    (a|)', targets);
      const failed = '         ---#';

      watched(source).subscribe();
      expectObservable(session.failed).toBe(failed, undefined, error);
    });
  });

  it('should name the host whose lock was lost when others still answer', () => {
    const error = lost(web2, "can't receive heartbeat: no reply within 4 ms");

    testScheduler.run(({ cold, expectObservable }) => {
      const web1Lock = cold('  -a-p---p---p', replies);
      const web2Lock = cold('  --a-p', replies);
      useHosts({ web1: lockScript(web1Lock), web2: lockScript(web2Lock) });
      const source = cold('    (ab|)', targets);
      const web1Pings = '      -p---p---p';
      const web2Pings = '      --p---p';
      const failed = '         ----------#';
      const close = '          ------------x';

      watched(source).subscribe();
      expectObservable(transport.stdin(web1)).toBe(web1Pings, pings);
      expectObservable(transport.stdin(web2)).toBe(web2Pings, pings);
      expectObservable(session.failed).toBe(failed, undefined, error);
      cold(close).subscribe(() => void session.close());
    });
  });

  it('should pass hosts without a lock through and not watch them', () => {
    const hold = vi.spyOn(session, 'hold');

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold('    -a-b|', targets);
      const sourceSubs = '     ^---!';
      const expected = '       -a-b|';
      const failed = '         ----------';

      expectObservable(source.pipe(heartbeat({ period, scheduler: testScheduler }))).toBe(
        expected,
        targets,
      );
      expectObservable(session.failed).toBe(failed);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(hold).not.toHaveBeenCalled();
    expect(transport.runs).toEqual([]);
  });

  it('should pass a source error through', () => {
    const upstream = new OrgalorgError('connecting to cluster failed', { code: 'connect.cluster' });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold('    -a-#', targets, upstream);
      const sourceSubs = '     ^--!';
      const expected = '       -a-#';

      const result = source.pipe(heartbeat({ period, scheduler: testScheduler }));
      expectObservable(result).toBe(expected, targets, upstream);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should keep pinging after its subscriber unsubscribes, since the session holds the lock', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Lock = cold('   -a-p---p---p', replies);
      useHosts({ web1: lockScript(web1Lock) });
      const source = cold('    -a------', targets);
      const sourceSubs = '     ^--!';
      const unsub = '          ---!';
      const expected = '       --a';
      const web1Pings = '      --p---p---p';
      const close = '          -------------x';

      const result = source.pipe(
        mergeMap((target) => of(target)),
        lock({ path: '/' }),
        heartbeat({ period, scheduler: testScheduler }),
        mergeMap((target) => of(target)),
      );
      expectObservable(result, unsub).toBe(expected, { a: locked(targets.a) });
      expectObservable(transport.stdin(web1)).toBe(web1Pings, pings);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      cold(close).subscribe(() => void session.close());
    });
  });
});
