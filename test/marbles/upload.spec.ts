import { mergeMap, of, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { OrgalorgError } from '../../src/errors.js';
import type { ConnectedHost } from '../../src/host.js';
import { upload } from '../../src/operators/upload.js';
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
import { createTestScheduler } from './test-scheduler.js';

const web1 = testHost('web1');
const web2 = testHost('web2');

/** What tar says while it unpacks. */
const says = {
  o: stdout('etc/app.conf\n'),
  e: stderr('tar: Removing leading `../` from member names\n'),
  x: exit(0),
  y: exit(2),
};

/** Pieces of the archive, as one host's copy of the stream carries them. */
const chunks = { c: 'ustar header', d: 'file content' };

/** An output event as upload emits it: tagged as tar's. */
const tagged = (host: HostSpec, event: ExecEvent) => ({ ...event, host, tag: 'tar' });
const on = (host: HostSpec, event: ExecEvent): HostEvent => ({ ...event, host });

const isReceiver = (command: string) => command.includes('tar --directory');

describe('upload', () => {
  let testScheduler: TestScheduler;
  let session: Session;
  let transport: FakeTransport;
  let targets: { a: ConnectedHost; b: ConnectedHost };

  /** Every host runs the tar receiver as scripted for it. */
  const useHosts = (receivers: Record<string, FakeCommand['events']>) => {
    transport = new FakeTransport(
      testScheduler,
      Object.fromEntries(
        Object.entries(receivers).map(([name, events]) => [
          name,
          { commands: [{ match: isReceiver, events }] },
        ]),
      ),
    );
    targets = { a: transport.connected(web1, session), b: transport.connected(web2, session) };
  };

  /** The archive's copies, handed out by a spy that records the frame of each call. */
  const archiveOf = (copies: readonly Observable<string>[]) => {
    const frames: number[] = [];
    const archive = vi.fn((count: number) => {
      frames.push(testScheduler.now());
      return copies.slice(0, count);
    });
    return { archive, frames };
  };

  beforeEach(() => {
    testScheduler = createTestScheduler();
    session = new Session();
  });

  it('should wait for every host, then unpack one copy of the archive on each', () => {
    let recorded: ReturnType<typeof archiveOf> | undefined;

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Copy = cold('  -c-d|', chunks);
      const web1CopySubs = '   -----^---!';
      const web2Copy = cold('  --c--d|', chunks);
      const web2CopySubs = '   -----^-----!';
      const web1Tar = cold('   --o---(x|)', says);
      const web1TarSubs = '    -----^-----!';
      const web2Tar = cold('   ---o----(x|)', says);
      const web2TarSubs = '    -----^-------!';
      useHosts({ web1: web1Tar, web2: web2Tar });
      const source = cold('    -a--b|', targets);
      const sourceSubs = '     ^----!';
      const expected = '       -------ab--c-(d|)';
      const web1Stdin = '      ------c-d';
      const web2Stdin = '      -------c--d';
      const values = {
        a: tagged(web1, says.o),
        b: tagged(web2, says.o),
        c: on(web1, says.x),
        d: on(web2, says.x),
      };

      recorded = archiveOf([web1Copy, web2Copy]);
      const result = source.pipe(upload({ archive: recorded.archive, directory: '/srv/app' }));
      expectObservable(result).toBe(expected, values);
      expectObservable(transport.stdin(web1)).toBe(web1Stdin, chunks);
      expectObservable(transport.stdin(web2)).toBe(web2Stdin, chunks);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Copy.subscriptions).toBe(web1CopySubs);
      expectSubscriptions(web2Copy.subscriptions).toBe(web2CopySubs);
      expectSubscriptions(web1Tar.subscriptions).toBe(web1TarSubs);
      expectSubscriptions(web2Tar.subscriptions).toBe(web2TarSubs);
    });

    expect(recorded?.archive.mock.calls).toEqual([[2]]);
    expect(recorded?.frames).toEqual([5]);
    expect(transport.runs.map(({ host, startedAt }) => [host.raw, startedAt])).toEqual([
      ['web1', 5],
      ['web2', 5],
    ]);
  });

  it('should unpack with tar into the directory, quoted for the shell', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const web1Tar = cold('   -(x|)', says);
      useHosts({ web1: web1Tar });
      const source = cold('    (a|)', targets);
      const expected = '       -(x|)';

      const { archive } = archiveOf([cold('|')]);
      const result = source.pipe(upload({ archive, directory: '/srv/my app' }));
      expectObservable(result).toBe(expected, { x: on(web1, says.x) });
    });

    const [receiver] = transport.runs;
    expect(receiver?.command).toContain("tar --directory '\\''/srv/my app'\\''");
    expect(receiver?.command).toBe(
      "bash -c 'mkdir -p '\\''/srv/my app'\\'' && tar --directory '\\''/srv/my app'\\'' -xp'",
    );
    expect(receiver?.config?.sudo).not.toBe(true);
  });

  it('should have tar list what it unpacks and run under sudo when asked', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const web1Tar = cold('   -(x|)', says);
      useHosts({ web1: web1Tar });
      const source = cold('    (a|)', targets);
      const expected = '       -(x|)';

      const { archive } = archiveOf([cold('|')]);
      const config = { archive, directory: '/var/run/orgalorg/20240131235959.12345' };
      const result = source.pipe(upload({ ...config, sudo: true, verbose: true }));
      expectObservable(result).toBe(expected, { x: on(web1, says.x) });
    });

    const [receiver] = transport.runs;
    expect(receiver?.command).toBe(
      "sudo -n -E -H bash -c 'mkdir -p /var/run/orgalorg/20240131235959.12345 && " +
        "tar --directory /var/run/orgalorg/20240131235959.12345 -xpv'",
    );
    expect(receiver?.config).toMatchObject({ sudo: true });
  });

  it('should tag stderr too and pass every exit, failed or lost, untagged', () => {
    const lost = new OrgalorgError('[root@web2:22] connection lost', {
      code: 'exec.lost',
      host: web2,
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Tar = cold('   -e--(y|)', says);
      const web1TarSubs = '    ^---!';
      const web2Tar = cold('   --#', says, lost);
      const web2TarSubs = '    ^-!';
      useHosts({ web1: web1Tar, web2: web2Tar });
      const source = cold('    (ab|)', targets);
      const expected = '       -ab-(c|)';
      const values = {
        a: tagged(web1, says.e),
        b: { kind: 'exit', host: web2, code: null, signal: null, error: lost },
        c: on(web1, says.y),
      };

      const { archive } = archiveOf([cold('-c|', chunks), cold('-c|', chunks)]);
      const result = source.pipe(upload({ archive, directory: '/srv/app' }));
      expectObservable(result).toBe(expected, values);
      expectSubscriptions(web1Tar.subscriptions).toBe(web1TarSubs);
      expectSubscriptions(web2Tar.subscriptions).toBe(web2TarSubs);
    });
  });

  it('should complete at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold<ConnectedHost>('|');
      const sourceSubs = '                (^!)';
      const expected = '                  |';

      const { archive } = archiveOf([]);
      expectObservable(source.pipe(upload({ archive, directory: '/srv/app' }))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(transport.runs).toEqual([]);
  });

  it('should pass the source error through without making the archive', () => {
    const upstream = new OrgalorgError('connecting to cluster failed', { code: 'connect.cluster' });
    let recorded: ReturnType<typeof archiveOf> | undefined;

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold('    -a-#', targets, upstream);
      const sourceSubs = '     ^--!';
      const expected = '       ---#';

      recorded = archiveOf([]);
      const result = source.pipe(upload({ archive: recorded.archive, directory: '/srv/app' }));
      expectObservable(result).toBe(expected, undefined, upstream);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(recorded?.archive).not.toHaveBeenCalled();
    expect(transport.runs).toEqual([]);
  });

  it('should error without starting a receiver when the archive cannot be made', () => {
    const unreadable = new OrgalorgError("can't archive files and send to the remote nodes", {
      code: 'upload',
    });

    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      useHosts({});
      const source = cold('    -a-b|', targets);
      const sourceSubs = '     ^---!';
      const expected = '       ----#';

      const archive = () => {
        throw unreadable;
      };
      const result = source.pipe(upload({ archive, directory: '/srv/app' }));
      expectObservable(result).toBe(expected, undefined, unreadable);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });

    expect(transport.runs).toEqual([]);
  });

  it('should stop every receiver and drop its copy when unsubscribed early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Copy = cold('  -c------d|', chunks);
      const web2Copy = cold('  --c-----d|', chunks);
      const web1Tar = cold('   -o------(x|)', says);
      const web2Tar = cold('   --o-----(x|)', says);
      const receiverSubs = '   -^--!';
      useHosts({ web1: web1Tar, web2: web2Tar });
      const source = cold('    -(ab|)', targets);
      const unsub = '          ----!';
      const expected = '       --ab';
      const values = { a: tagged(web1, says.o), b: tagged(web2, says.o) };

      const { archive } = archiveOf([web1Copy, web2Copy]);
      const result = source.pipe(upload({ archive, directory: '/srv/app' }));
      expectObservable(result, unsub).toBe(expected, values);
      expectSubscriptions(source.subscriptions).toBe('^!');
      expectSubscriptions(web1Copy.subscriptions).toBe(receiverSubs);
      expectSubscriptions(web2Copy.subscriptions).toBe(receiverSubs);
      expectSubscriptions(web1Tar.subscriptions).toBe(receiverSubs);
      expectSubscriptions(web2Tar.subscriptions).toBe(receiverSubs);
    });

    expect(transport.runs.map(({ host, stoppedAt }) => [host.raw, stoppedAt])).toEqual([
      ['web1', 4],
      ['web2', 4],
    ]);
  });

  it('should not break the unsubscription chain when unsubscribed explicitly', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const web1Copy = cold('  -c------d|', chunks);
      const web1Tar = cold('   -o------(x|)', says);
      const receiverSubs = '   -^--!';
      useHosts({ web1: web1Tar });
      const source = cold('    -(a|)', targets);
      const sourceSubs = '     ^!';
      const unsub = '          ----!';
      const expected = '       --a-';

      const { archive } = archiveOf([web1Copy]);
      const result = source.pipe(
        mergeMap((target) => of(target)),
        upload({ archive, directory: '/srv/app' }),
        mergeMap((event) => of(event)),
      );
      expectObservable(result, unsub).toBe(expected, { a: tagged(web1, says.o) });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
      expectSubscriptions(web1Copy.subscriptions).toBe(receiverSubs);
      expectSubscriptions(web1Tar.subscriptions).toBe(receiverSubs);
    });

    expect(transport.runs.map((run) => run.stoppedAt)).toEqual([4]);
  });
});
