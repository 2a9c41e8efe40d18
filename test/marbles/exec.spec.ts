import { mergeMap, NEVER, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import type { ConnectedHost } from '../../src/host.js';
import { exec } from '../../src/operators/exec.js';
import { Session } from '../../src/session.js';
import type { ExecEvent, HostEvent, HostSpec } from '../../src/types.js';
import {
  exit,
  FakeTransport,
  stdout,
  testHost,
  type FakeHostScript,
} from '../support/fake-transport.js';
import { createTestScheduler } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');

const events = {
  o: stdout('up 3 days\n'),
  x: exit(0),
};

const tagged = (host: HostSpec, event: ExecEvent): HostEvent => ({ ...event, host });

describe('exec', () => {
  let testScheduler: TestScheduler;
  let session: Session;
  let transport: FakeTransport;
  let targets: { a: ConnectedHost; b: ConnectedHost };

  /** Every host runs `uptime` as scripted for it. */
  const useHosts = (scripts: Record<string, FakeHostScript['commands']>) => {
    transport = new FakeTransport(
      testScheduler,
      Object.fromEntries(Object.entries(scripts).map(([name, commands]) => [name, { commands }])),
    );
    targets = { a: transport.connected(web1, session), b: transport.connected(web2, session) };
  };
  const uptime = (command: string) => command === 'uptime';

  beforeEach(() => {
    testScheduler = createTestScheduler();
    session = new Session();
  });

  it('should emit every host output and exit tagged with the host', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Uptime = cold('-o--(x|)', events);
      const web1UptimeSubs = ' ^---!';
      const web2Uptime = cold('--o--(x|)', events);
      const web2UptimeSubs = ' ^----!';
      useHosts({
        web1: [{ match: uptime, events: web1Uptime }],
        web2: [{ match: uptime, events: web2Uptime }],
      });
      const source = cold('    (ab|)', targets);
      const sourceSubs = '     (^!)';
      const expected = '       -ab-c(d|)';
      const values = {
        a: tagged(web1, events.o),
        b: tagged(web2, events.o),
        c: tagged(web1, events.x),
        d: tagged(web2, events.x),
      };

      expectObservable(source.pipe(exec('uptime'))).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Uptime.subscriptions).toBe(web1UptimeSubs);
      expectSubscriptions(web2Uptime.subscriptions).toBe(web2UptimeSubs);
    });

    expect(
      transport.runs.map(({ host, command, stoppedAt }) => [host.raw, command, stoppedAt]),
    ).toEqual([
      ['web1', 'uptime', undefined],
      ['web2', 'uptime', undefined],
    ]);
  });

  it('should turn a lost connection into an exit without a code, and go on with the others', () => {
    const lost = new OrgalorgError('[root@web1:22] connection lost', {
      code: 'exec.lost',
      host: web1,
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Uptime = cold('-o#', events, lost);
      const web2Uptime = cold('----o-(x|)', events);
      useHosts({
        web1: [{ match: uptime, events: web1Uptime }],
        web2: [{ match: uptime, events: web2Uptime }],
      });
      const source = cold('    (ab|)', targets);
      const expected = '       -ab-c-(d|)';
      const values = {
        a: tagged(web1, events.o),
        b: { kind: 'exit', host: web1, code: null, signal: null, error: lost },
        c: tagged(web2, events.o),
        d: tagged(web2, events.x),
      };

      expectObservable(source.pipe(exec('uptime'))).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('should run the command made for each host, with its stdin and options', () => {
    const paused = NEVER;

    testScheduler.run(({ cold, expectObservable }) => {
      const hostname = cold('   -(x|)', events);
      useHosts({
        web1: [{ match: (command) => command.startsWith('hostname'), events: hostname }],
        web2: [{ match: (command) => command.startsWith('hostname'), events: hostname }],
      });
      const source = cold('    -(ab|)', targets);
      const expected = '       --(cd|)';
      const web1Stdin = '      -a';
      const web2Stdin = '      -b';
      const values = { c: tagged(web1, events.x), d: tagged(web2, events.x) };

      const result = source.pipe(
        exec({
          command: (host) => `hostname # ${host.address}`,
          stdin: (_target, index) => of(`input ${index}\n`),
          tty: true,
          sudo: true,
          paused,
        }),
      );
      expectObservable(result).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, { a: 'input 0\n' });
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, { b: 'input 1\n' });
    });

    expect(transport.runs.map((run) => run.command)).toEqual([
      'hostname # web1',
      'hostname # web2',
    ]);
    expect(transport.runs[0]?.config).toMatchObject({ tty: true, sudo: true, paused });
  });

  it('should error when the command callback throws', () => {
    const unknownHost = new Error('no command for web1');

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold('    -a-b|', targets);
      const sourceSubs = '     ^!';
      const expected = '       -#';

      const result = source.pipe(
        exec({
          command: () => {
            throw unknownHost;
          },
        }),
      );
      expectObservable(result).toBe(expected, undefined, unknownHost);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(transport.runs).toEqual([]);
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<ConnectedHost>('|');
      const sourceSubs = '                (^!)';
      const expected = '                  |';

      expectObservable(source.pipe(exec('uptime'))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should pass the source error through and stop the commands in flight', () => {
    const upstream = new OrgalorgError('connecting to cluster failed', { code: 'connect.cluster' });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Uptime = cold('   -o-----(x|)', events);
      const web1UptimeSubs = '   -^-!';
      useHosts({ web1: [{ match: uptime, events: web1Uptime }] });
      const source = cold('      -a-#', targets, upstream);
      const sourceSubs = '       ^--!';
      const expected = '         --a#';

      const result = source.pipe(exec('uptime'));
      expectObservable(result).toBe(expected, { a: tagged(web1, events.o) }, upstream);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Uptime.subscriptions).toBe(web1UptimeSubs);
    });

    expect(transport.runs.map((run) => run.stoppedAt)).toEqual([3]);
  });

  it('should stop every remote command when unsubscribed early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Uptime = cold('-o------(x|)', events);
      const web2Uptime = cold('--o-----(x|)', events);
      const uptimeSubs = '     ^--!';
      useHosts({
        web1: [{ match: uptime, events: web1Uptime }],
        web2: [{ match: uptime, events: web2Uptime }],
      });
      const source = cold('    (ab|)', targets);
      const unsub = '          ---!';
      const expected = '       -ab';
      const values = { a: tagged(web1, events.o), b: tagged(web2, events.o) };

      expectObservable(source.pipe(exec('uptime')), unsub).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe('(^!)');
      expectSubscriptions(web1Uptime.subscriptions).toBe(uptimeSubs);
      expectSubscriptions(web2Uptime.subscriptions).toBe(uptimeSubs);
    });

    expect(transport.runs.map((run) => [run.host.raw, run.stoppedAt])).toEqual([
      ['web1', 3],
      ['web2', 3],
    ]);
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Uptime = cold('   -o------(x|)', events);
      const web1UptimeSubs = '   -^--!';
      useHosts({ web1: [{ match: uptime, events: web1Uptime }] });
      const source = cold('      -a------', targets);
      const sourceSubs = '       ^---!';
      const unsub = '            ----!';
      const expected = '         --a-';

      const result = source.pipe(
        mergeMap((target) => of(target)),
        exec('uptime'),
        mergeMap((event) => of(event)),
      );
      expectObservable(result, unsub).toBe(expected, { a: tagged(web1, events.o) });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Uptime.subscriptions).toBe(web1UptimeSubs);
    });

    expect(transport.runs.map((run) => run.stoppedAt)).toEqual([4]);
  });
});
