import type { Readable } from 'node:stream';
import { isObservable, Observable, Subscription } from 'rxjs';
import ssh2, { type ClientChannel } from 'ssh2';
import { errorMessage, OrgalorgError } from '../errors.js';
import type { ExecEvent, HostSpec } from '../types.js';
import { shellQuote } from './remote-command.js';
import type { CommandInput, Connection, RunConfig, Transport } from './transport.js';

import { closeAll, login, type HostRoute, type SshTransportConfig } from './ssh-login.js';

export type { HostRoute, SshTransportConfig } from './ssh-login.js';

// The first line the remote login shell writes on stderr, before the command starts: the pid
// that leads the command's process group, so stopping the command can reach all it started.
const PID_MARK = '\x1eorgalorg-pid ';
const MARKED = `printf '\\036orgalorg-pid %s\\n' "$$" >&2; `;

// How long closing waits for the commands that stop remote processes to be sent and answered.
const STOP_GRACE_MS = 3000;

/** Connects with ssh2: agent first, then key files; one connection per host. */
export function sshTransport(config: SshTransportConfig): Transport {
  return { connect: (host) => connectHost(host, config) };
}

function connectHost(host: HostSpec, config: SshTransportConfig): Observable<Connection> {
  return new Observable<Connection>((subscriber) => {
    const route: HostRoute = config.route?.(host) ?? {
      address: host.address,
      port: host.port,
      user: host.user,
    };
    const opened: ssh2.Client[] = [];
    let ready = false;
    const fail = (error: unknown) => {
      const cause = error as Error & { level?: string };
      const timeout = route.connectTimeout ?? config.connectTimeout;
      const why =
        cause.level === 'client-timeout'
          ? `no SSH greeting and login within ${timeout} ms (-c)`
          : cause.message;
      subscriber.error(
        new OrgalorgError(`can't connect to address: ${host.node}: ${why}`, {
          code: 'connect',
          host,
          cause: error,
        }),
      );
    };

    // Each hop is reached through the one before it, the target through the last.
    const hops = [...(route.jumps ?? []), route];
    hops
      .reduce<Promise<ssh2.Client | undefined>>(
        (previous, hop) =>
          previous.then(async (through) => {
            const client = await login(hop, config, through).catch((error: unknown) => {
              if (hop === route) throw error;
              // Say which hop failed: the target's name alone would mislead.
              const message = errorMessage(error);
              throw new Error(`jump host ${hop.user}@${hop.address}:${hop.port}: ${message}`, {
                cause: error,
              });
            });
            opened.push(client);
            return client;
          }),
        Promise.resolve(undefined),
      )
      .then((client) => {
        if (subscriber.closed) return closeAll(opened);
        ready = true;
        subscriber.next(new SshConnection(host, client!, opened.slice(0, -1)));
        subscriber.complete();
      })
      .catch((error: unknown) => {
        closeAll(opened);
        fail(error);
      });
    return () => {
      if (!ready) closeAll(opened);
    };
  });
}

class SshConnection implements Connection {
  private readonly stopping = new Set<Promise<void>>();
  private lost: Error | undefined;
  private readonly onLost = new Set<(error: Error) => void>();

  constructor(
    readonly host: HostSpec,
    private readonly client: ssh2.Client,
    private readonly jumps: readonly ssh2.Client[] = [],
  ) {
    const lose = (error: Error) => {
      this.lost ??= error;
      for (const listener of this.onLost) listener(this.lost);
    };
    client.on('error', lose);
    client.on('close', () => lose(new Error('connection closed')));
  }

  run(command: string, config: RunConfig = {}): Observable<ExecEvent> {
    return new Observable<ExecEvent>((subscriber) => {
      let channel: ClientChannel | undefined;
      let announcePid: (pid: string | undefined) => void = () => undefined;
      const pid = new Promise<string | undefined>((resolve) => (announcePid = resolve));
      let done = false;
      const subscriptions: Subscription[] = [];

      const lost = (error: Error) => {
        done = true;
        subscriber.error(
          new OrgalorgError(`${this.host.node} connection lost: ${error.message}`, {
            code: 'exec.lost',
            host: this.host,
            cause: error,
          }),
        );
      };
      if (this.lost) {
        lost(this.lost);
        return;
      }
      this.onLost.add(lost);

      this.client.exec(MARKED + command, { pty: config.tty === true }, (error, opened) => {
        if (error) {
          done = true;
          subscriber.error(
            new OrgalorgError(`${this.host.node} can't start remote command: ${error.message}`, {
              code: 'exec.start',
              host: this.host,
              cause: error,
            }),
          );
          return;
        }
        channel = opened;
        let code: number | null = null;
        let signal: string | null = null;
        const marked = readPid(announcePid);
        opened.on('data', (data: Buffer) => {
          if (config.tty !== true) subscriber.next({ kind: 'stdout', data });
          else marked(data, (rest) => subscriber.next({ kind: 'stdout', data: rest }));
        });
        opened.stderr.on('data', (data: Buffer) => {
          if (config.tty === true) subscriber.next({ kind: 'stderr', data });
          else marked(data, (rest) => subscriber.next({ kind: 'stderr', data: rest }));
        });
        opened.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = exitCode ?? null;
          signal = exitSignal ?? null;
        });
        opened.on('close', () => {
          announcePid(undefined);
          done = true;
          this.onLost.delete(lost);
          subscriber.next({ kind: 'exit', code, signal });
          subscriber.complete();
        });

        if (config.paused) {
          subscriptions.push(
            config.paused.subscribe((pause) => {
              const streams = [opened, opened.stderr];
              for (const stream of streams) {
                if (pause) stream.pause();
                else stream.resume();
              }
            }),
          );
        }
        // Unsubscribed while the command was starting: it runs now, so stop it properly.
        if (subscriber.closed) return this.stop(opened, pid, config.sudo === true);
        subscriptions.push(
          feed(opened, config.stdin, (error) => {
            done = true;
            opened.close();
            subscriber.error(
              new OrgalorgError(`${this.host.node} can't send input: ${error.message}`, {
                code: 'input.read',
                host: this.host,
                cause: error,
              }),
            );
          }),
        );
      });

      return () => {
        this.onLost.delete(lost);
        for (const subscription of subscriptions) subscription.unsubscribe();
        if (!done && channel) this.stop(channel, pid, config.sudo === true);
      };
    });
  }

  /**
   * Ends the command's whole process group on the host: SIGTERM, then SIGKILL to whatever is
   * left after a grace period; then closes its channel.
   */
  private stop(channel: ClientChannel, pid: Promise<string | undefined>, sudo: boolean): void {
    const stopped = (async () => {
      const leader = await Promise.race([pid, delay(STOP_GRACE_MS).then(() => undefined)]);
      // Closed first, so the host's sshd reaps what the signal ends instead of keeping zombies
      // that would look alive to the check before SIGKILL.
      channel.close();
      if (leader === undefined || this.lost) return;
      await this.quietly(`${sudo ? 'sudo -n ' : ''}sh -c ${shellQuote(killGroup(leader))}`);
    })().finally(() => this.stopping.delete(stopped));
    this.stopping.add(stopped);
  }

  /** Runs a command for its effect only; resolves when it ended (or could not start). */
  private quietly(command: string): Promise<void> {
    return new Promise<void>((resolve) => {
      try {
        this.client.exec(command, (error, channel) => {
          if (error) return resolve();
          channel.on('close', () => resolve());
          channel.resume();
          channel.stderr.resume();
          channel.end();
        });
      } catch {
        // The connection is gone already: nothing more can be done on that host.
        resolve();
      }
    });
  }

  async close(): Promise<void> {
    // Stops may still be registered while waiting (a command that was starting): wait for all.
    const deadline = delay(2 * STOP_GRACE_MS).then(() => 'late' as const);
    while (this.stopping.size > 0) {
      if ((await Promise.race([Promise.all(this.stopping), deadline])) === 'late') break;
    }
    if (this.lost) return closeAll(this.jumps);
    const closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.end();
    await Promise.race([closed, delay(STOP_GRACE_MS)]);
    this.client.destroy();
    closeAll(this.jumps);
  }
}

/** TERM to the process group, KILL to what is still there two seconds later. */
function killGroup(leader: string): string {
  return [
    `kill -TERM -${leader} 2>/dev/null || exit 0`,
    `i=0`,
    `while [ $i -lt 20 ] && kill -0 -${leader} 2>/dev/null; do sleep 0.1; i=$((i + 1)); done`,
    `kill -KILL -${leader} 2>/dev/null`,
    `exit 0`,
  ].join('\n');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Returns a filter for the stream that carries the pid mark: it takes the mark off the first
 * line (reporting the pid), then passes every byte through.
 */
function readPid(
  found: (pid: string) => void,
): (data: Buffer, emit: (rest: Buffer) => void) => void {
  let head: Buffer | undefined = Buffer.alloc(0);
  return (data, emit) => {
    if (head === undefined) return emit(data);
    head = Buffer.concat([head, data]);
    const newline = head.indexOf(10);
    const text = head.toString('latin1', 0, newline === -1 ? head.length : newline);
    if (
      !PID_MARK.startsWith(text.slice(0, PID_MARK.length)) ||
      (newline === -1 && head.length > 64)
    ) {
      const all = head;
      head = undefined;
      return emit(all);
    }
    if (newline === -1) return;
    found(text.slice(PID_MARK.length).replace(/\r$/, ''));
    const rest = head.subarray(newline + 1);
    head = undefined;
    if (rest.length > 0) emit(rest);
  };
}

/** Writes the command's input to the channel and ends it; no input means EOF at once. */
function feed(
  channel: ClientChannel,
  input: CommandInput | undefined,
  fail: (error: Error) => void,
): Subscription {
  if (input === undefined) {
    channel.end();
    return Subscription.EMPTY;
  }
  if (isObservable(input)) {
    return input.subscribe({
      next: (chunk) => channel.write(chunk),
      complete: () => channel.end(),
      error: fail,
    });
  }
  const readable: Readable = input;
  if (readable.errored) {
    fail(readable.errored);
    return Subscription.EMPTY;
  }
  readable.once('error', fail);
  readable.pipe(channel);
  return new Subscription(() => {
    readable.off('error', fail);
    readable.unpipe(channel);
    // A host that stopped reading must not hold the others back: drop what it would get.
    readable.resume();
  });
}
