import { filter, map, merge, mergeMap, of, timer, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import type { ConnectedHost } from '../../src/host.js';
import { syncProtocol, type SyncProtocolConfig } from '../../src/operators/sync-protocol.js';
import { Session } from '../../src/session.js';
import type { ExecEvent, HostEvent, HostSpec } from '../../src/types.js';
import {
  exit,
  FakeTransport,
  stderr,
  stdout,
  testHost,
  type FakeCommand,
} from '../support/fake-transport.js';
import { comparable, createTestScheduler, recordLog } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');
const web3 = testHost('web3');

/** The protocol prefix of every run below. */
const P = 'ORGALORG:1714550400123456789';
const tool = '/usr/lib/orgalorg/sync';

/** What the tools print. */
const says = {
  s: stdout(`${P} SYNC phase 1\n`),
  t: stdout(`${P} SYNC phase 2\n`),
  o: stdout('checked 1204 files\n'),
  x: exit(0),
  y: exit(3),
};

/** What a tool reads first, on `current`, in a run of `hosts`. */
function greeting(current: HostSpec, hosts: readonly HostSpec[]): string {
  const nodes = hosts.map((host) => `NODE ${host.node}${host === current ? ' CURRENT' : ''}\n`);
  return `${P} HELLO\n${nodes.join('')}${P} START\n`;
}

/** What every tool reads when `host` says `SYNC <text>`. */
const relay = (host: HostSpec, text: string) => `${P} SYNC ${host.node} ${text}\n`;

const sync = (host: HostSpec, text: string): HostEvent => ({ kind: 'sync', text, host });
const on = (host: HostSpec, event: ExecEvent): HostEvent => ({ ...event, host });

describe('syncProtocol', () => {
  let testScheduler: TestScheduler;
  let session: Session;
  let transport: FakeTransport;
  let targets: { a: ConnectedHost; b: ConnectedHost; c: ConnectedHost };

  /** Every host runs the sync tool as scripted for it. */
  const useHosts = (tools: Record<string, FakeCommand['events']>) => {
    transport = new FakeTransport(
      testScheduler,
      Object.fromEntries(
        Object.entries(tools).map(([name, events]) => [
          name,
          { commands: [{ match: (command: string) => command === tool, events }] },
        ]),
      ),
    );
    targets = {
      a: transport.connected(web1, session),
      b: transport.connected(web2, session),
      c: transport.connected(web3, session),
    };
  };

  const protocol = (config: Partial<SyncProtocolConfig> = {}) =>
    syncProtocol({ command: tool, prefix: P, ...config });

  /** The host with its commands started `frames` late, like an SSH channel that opens late. */
  const openingLate = (target: ConnectedHost, frames: number): ConnectedHost => ({
    ...target,
    connection: {
      host: target.host,
      run: (command, config) =>
        timer(frames, testScheduler).pipe(mergeMap(() => target.connection.run(command, config))),
      close: () => target.connection.close(),
    },
  });

  beforeEach(() => {
    testScheduler = createTestScheduler();
    session = new Session();
  });

  it('should send HELLO, a NODE line per host with CURRENT on its own, and START to every tool', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  --(x|)', says);
      const web1ToolSubs = '   -^-!';
      const web2Tool = cold('  ---(y|)', says);
      const web2ToolSubs = '   -^--!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const sourceSubs = '     ^!';
      const expected = '       ---a(b|)';
      const web1Stdin = '      -h';
      const web2Stdin = '      -g';
      const values = { a: on(web1, says.x), b: on(web2, says.y) };
      const reads = {
        h: `${P} HELLO\nNODE [root@web1:22] CURRENT\nNODE [root@web2:22]\n${P} START\n`,
        g: `${P} HELLO\nNODE [root@web1:22]\nNODE [root@web2:22] CURRENT\n${P} START\n`,
      };

      expectObservable(source.pipe(protocol({ sudo: true }))).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });

    expect(transport.runs.map(({ host, command }) => [host.raw, command])).toEqual([
      ['web1', tool],
      ['web2', tool],
    ]);
    expect(transport.runs[0]?.config).toMatchObject({ sudo: true });
  });

  it('should relay a SYNC line to every tool, the sender included, and emit it as a sync event', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  --s---(x|)', says);
      const web1ToolSubs = '   -^-----!';
      const web2Tool = cold('  -----(x|)', says);
      const web2ToolSubs = '   -^----!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const expected = '       ---a--b(c|)';
      const web1Stdin = '      -h-r';
      const web2Stdin = '      -g-r';
      const values = { a: sync(web1, 'phase 1'), b: on(web2, says.x), c: on(web1, says.x) };
      const reads = {
        h: greeting(web1, [web1, web2]),
        g: greeting(web2, [web1, web2]),
        r: `${P} SYNC [root@web1:22] phase 1\n`,
      };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(source.subscriptions).toBe('^!');
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });
  });

  it('should pass other lines as stdout cut at line ends, and stderr unparsed', () => {
    const pieces = {
      a: stdout('checked 12'),
      b: stdout('04 files\nall '),
      c: stdout('good\n'),
      e: stderr(`${P} SYNC phase 1\n`),
      x: exit(0),
    };

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -a-b-c-e(x|)', pieces);
      const web1ToolSubs = '   -^-------!';
      useHosts({ web1: web1Tool });
      const source = cold('    -(a|)', targets);
      const expected = '       ----b-c-e(x|)';
      const web1Stdin = '      -h';
      const values = {
        b: on(web1, stdout('checked 1204 files\n')),
        c: on(web1, stdout('all good\n')),
        e: on(web1, pieces.e),
        x: on(web1, pieces.x),
      };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, { h: greeting(web1, [web1]) });
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
    });
  });

  it('should emit a last line without newline when the tool exits', () => {
    const pieces = { a: stdout('done\nno newline'), x: exit(0) };

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -a--(x|)', pieces);
      const web1ToolSubs = '   -^---!';
      useHosts({ web1: web1Tool });
      const source = cold('    -(a|)', targets);
      const expected = '       --a--(bx|)';
      const values = {
        a: on(web1, stdout('done\n')),
        b: on(web1, stdout('no newline')),
        x: on(web1, pieces.x),
      };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
    });
  });

  it('should take neither a SYNCX line nor another run prefix for a sync', () => {
    const lines = {
      a: stdout(`${P} SYNCX phase 1\n`),
      b: stdout(`ORGALORG:1 SYNC phase 1\n`),
      x: exit(0),
    };

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -a-b-(x|)', lines);
      const web1ToolSubs = '   -^----!';
      const web2Tool = cold('  ------(x|)', says);
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const expected = '       --a-b-c(d|)';
      const web1Stdin = '      -h------';
      const web2Stdin = '      -g------';
      const values = {
        a: on(web1, lines.a),
        b: on(web1, lines.b),
        c: on(web1, lines.x),
        d: on(web2, says.x),
      };
      const reads = { h: greeting(web1, [web1, web2]), g: greeting(web2, [web1, web2]) };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
    });
  });

  it('should relay to every host in the order the SYNC lines came when hosts run at different speeds', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -s------t----(x|)', says);
      const web2Tool = cold('  -----s-----t-(x|)', says);
      const web3Tool = cold('  ---s--t------(x|)', says);
      const toolSubs = '       -^------------!';
      useHosts({ web1: web1Tool, web2: web2Tool, web3: web3Tool });
      const source = cold('    -(abc|)', targets);
      const expected = '       --a-b-cd-e--f-(xyz|)';
      const web1Stdin = '      -ha-b-cd-e--f';
      const web2Stdin = '      -ia-b-cd-e--f';
      const web3Stdin = '      -ja-b-cd-e--f';
      const values = {
        a: sync(web1, 'phase 1'),
        b: sync(web3, 'phase 1'),
        c: sync(web2, 'phase 1'),
        d: sync(web3, 'phase 2'),
        e: sync(web1, 'phase 2'),
        f: sync(web2, 'phase 2'),
        x: on(web1, says.x),
        y: on(web2, says.x),
        z: on(web3, says.x),
      };
      const hosts = [web1, web2, web3];
      const reads = {
        h: greeting(web1, hosts),
        i: greeting(web2, hosts),
        j: greeting(web3, hosts),
        a: relay(web1, 'phase 1'),
        b: relay(web3, 'phase 1'),
        c: relay(web2, 'phase 1'),
        d: relay(web3, 'phase 2'),
        e: relay(web1, 'phase 2'),
        f: relay(web2, 'phase 2'),
      };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectObservable(transport.stdin(web3)).toBe(web3Stdin, reads);
      expectSubscriptions(web1Tool.subscriptions).toBe(toolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(toolSubs);
      expectSubscriptions(web3Tool.subscriptions).toBe(toolSubs);
    });
  });

  it('should relay each SYNC line to every tool before the next, even when a tool answers at once', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Exit = cold('  ------(x|)', says);
      const web1ExitSubs = '   -^-----!';
      // web1's tool answers web2's phase 1 with its own phase 2, with no delay at all: every
      // tool must still read phase 1 before phase 2, in the order they were said.
      const web1Tool = (stdin: Observable<string>) =>
        merge(
          stdin.pipe(
            filter((line) => line === relay(web2, 'phase 1')),
            map(() => says.t),
          ),
          web1Exit,
        );
      const web2Tool = cold('  --s----(x|)', says);
      const web2ToolSubs = '   -^------!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const web1Stdin = '      -h-(rq)';
      const web2Stdin = '      -g-(rq)';
      const reads = {
        h: greeting(web1, [web1, web2]),
        g: greeting(web2, [web1, web2]),
        r: relay(web2, 'phase 1'),
        q: relay(web1, 'phase 2'),
      };

      source.pipe(protocol()).subscribe();
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(web1Exit.subscriptions).toBe(web1ExitSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });
  });

  it('should relay a SYNC line to a tool whose channel opens after the line was sent', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // The SSH transport feeds stdin only once the exec channel is open, which takes longer on
      // some hosts; web1's tool reports its step before web2's channel is open.
      const web1Tool = cold('  s---(x|)', says);
      const web1ToolSubs = '   -^---!';
      const web2Tool = cold('  ---(x|)', says);
      const web2ToolSubs = '   ---^--!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', { a: targets.a, b: openingLate(targets.b, 2) });
      const expected = '       -a---b(c|)';
      const web1Stdin = '      -(hr)';
      const web2Stdin = '      ---(gr)';
      const values = { a: sync(web1, 'phase 1'), b: on(web1, says.x), c: on(web2, says.x) };
      const reads = {
        h: greeting(web1, [web1, web2]),
        g: greeting(web2, [web1, web2]),
        r: relay(web1, 'phase 1'),
      };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });
  });

  it('should ignore relays to a tool that has already exited', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  ---s-(x|)', says);
      const web1ToolSubs = '   -^----!';
      // A tool that ignores the protocol, such as `rm x`.
      const web2Tool = cold('  -(x|)', says);
      const web2ToolSubs = '   -^!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const expected = '       --a-b-(c|)';
      const web1Stdin = '      -h--r';
      const web2Stdin = '      -g----';
      const values = { a: on(web2, says.x), b: sync(web1, 'phase 1'), c: on(web1, says.x) };
      const reads = {
        h: greeting(web1, [web1, web2]),
        g: greeting(web2, [web1, web2]),
        r: relay(web1, 'phase 1'),
      };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });
  });

  it('should fail naming the host and stop every other tool when a connection is lost and strict', () => {
    const lost = new OrgalorgError('[root@web2:22] connection lost', {
      code: 'exec.lost',
      host: web2,
    });
    const error = new OrgalorgError('failed to run sync command', {
      code: 'sync',
      host: web2,
      children: [lost],
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  --s-----(x|)', says);
      const web1ToolSubs = '   -^---!';
      const web2Tool = cold('  ----#', says, lost);
      const web2ToolSubs = '   -^---!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const expected = '       ---a-#';
      const values = { a: sync(web1, 'phase 1') };

      expectObservable(source.pipe(protocol())).toBe(expected, values, error);
      expectSubscriptions(source.subscriptions).toBe('^!');
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });

    expect(transport.runs.map(({ host, stoppedAt }) => [host.raw, stoppedAt])).toEqual([
      ['web1', 5],
      ['web2', undefined],
    ]);
  });

  it('should turn a lost connection into an exit with the error and go on with the others when loose', () => {
    const lost = new OrgalorgError('[root@web2:22] connection lost', {
      code: 'exec.lost',
      host: web2,
    });
    const { log, entries } = recordLog(testScheduler);

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -----s-(x|)', says);
      const web1ToolSubs = '   -^------!';
      const web2Tool = cold('  ----#', says, lost);
      const web2ToolSubs = '   -^---!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const expected = '       -----ab-(c|)';
      const web1Stdin = '      -h----r';
      const web2Stdin = '      -g------';
      const values = {
        a: { kind: 'exit', host: web2, code: null, signal: null, error: lost },
        b: sync(web1, 'phase 1'),
        c: on(web1, says.x),
      };
      const reads = {
        h: greeting(web1, [web1, web2]),
        g: greeting(web2, [web1, web2]),
        r: relay(web1, 'phase 1'),
      };

      expectObservable(source.pipe(protocol({ failover: 'loose', log }))).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });

    const warnings = entries
      .filter((entry) => entry.level === 'warn')
      .map(({ level, host, error, frame }) => ({ level, host, error, frame }));
    expect(comparable(warnings)).toEqual(
      comparable([{ level: 'warn', host: web2, error: lost, frame: 5 }]),
    );
    expect(transport.runs.map((run) => run.stoppedAt)).toEqual([undefined, undefined]);
  });

  it('should wait for every host before starting any tool', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -(x|)', says);
      const web1ToolSubs = '   -----^!';
      const web2Tool = cold('  --(x|)', says);
      const web2ToolSubs = '   -----^-!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -a--b|', targets);
      const sourceSubs = '     ^----!';
      const expected = '       ------a(b|)';
      const web1Stdin = '      -----h';
      const web2Stdin = '      -----g';
      const values = { a: on(web1, says.x), b: on(web2, says.x) };
      const reads = { h: greeting(web1, [web1, web2]), g: greeting(web2, [web1, web2]) };

      expectObservable(source.pipe(protocol())).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, reads);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, reads);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(web2ToolSubs);
    });

    expect(transport.runs.map((run) => run.startedAt)).toEqual([5, 5]);
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold<ConnectedHost>('|');
      const sourceSubs = '                (^!)';
      const expected = '                  |';

      expectObservable(source.pipe(protocol())).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(transport.runs).toEqual([]);
  });

  it('should pass the source error through without starting any tool', () => {
    const upstream = new OrgalorgError('connecting to cluster failed', { code: 'connect.cluster' });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold('    -a-#', targets, upstream);
      const sourceSubs = '     ^--!';
      const expected = '       ---#';

      expectObservable(source.pipe(protocol())).toBe(expected, undefined, upstream);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(transport.runs).toEqual([]);
  });

  it('should stop every tool when unsubscribed early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -s------(x|)', says);
      const web2Tool = cold('  --o-----(x|)', says);
      const toolSubs = '       -^--!';
      useHosts({ web1: web1Tool, web2: web2Tool });
      const source = cold('    -(ab|)', targets);
      const unsub = '          ----!';
      const expected = '       --ab';
      const values = { a: sync(web1, 'phase 1'), b: on(web2, says.o) };

      expectObservable(source.pipe(protocol()), unsub).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe('^!');
      expectSubscriptions(web1Tool.subscriptions).toBe(toolSubs);
      expectSubscriptions(web2Tool.subscriptions).toBe(toolSubs);
    });

    expect(transport.runs.map(({ host, stoppedAt }) => [host.raw, stoppedAt])).toEqual([
      ['web1', 4],
      ['web2', 4],
    ]);
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tool = cold('  -s------(x|)', says);
      const web1ToolSubs = '   -^--!';
      useHosts({ web1: web1Tool });
      const source = cold('    -(a|)', targets);
      const sourceSubs = '     ^!';
      const unsub = '          ----!';
      const expected = '       --a-';
      const values = { a: sync(web1, 'phase 1') };

      const result = source.pipe(
        mergeMap((target) => of(target)),
        protocol(),
        mergeMap((event) => of(event)),
      );
      expectObservable(result, unsub).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Tool.subscriptions).toBe(web1ToolSubs);
    });

    expect(transport.runs.map((run) => run.stoppedAt)).toEqual([4]);
  });
});
