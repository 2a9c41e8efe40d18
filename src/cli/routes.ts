import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ParsedKey } from 'ssh2';
import { errorMessage, OrgalorgError } from '../errors.js';
import type { HostSpec, LogHook } from '../types.js';
import { loadKeys } from '../transport/keys.js';
import {
  knownHostKeyTypes,
  verifyHostKey,
  type KnownHostsConfig,
} from '../transport/known-hosts.js';
import {
  defaultSshConfigSource,
  loadSshConfig,
  type SshConfigResolver,
} from '../transport/ssh-config.js';
import type { HostRoute } from '../transport/ssh.js';
import type { CliOptions } from './options.js';

const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

/**
 * What ssh_config says of the hosts, with the command line winning: per-host defaults for the
 * host parser (`User`, `Port`), the route to each host (`HostName`, `IdentityFile`,
 * `ProxyJump`, `ConnectTimeout`) and how its key is checked.
 */
export class Routes {
  private readonly config: SshConfigResolver;
  private readonly keys = new Map<string, ParsedKey | undefined>();

  /**
   * @param common whether every host has something to log in with (a key, the agent, a
   *   password); if not, a host needs an IdentityFile of its own.
   */
  constructor(
    private readonly options: CliOptions,
    private readonly log: LogHook,
    private readonly common: boolean,
    private readonly home: string = homedir(),
  ) {
    const source =
      options.sshConfig === undefined
        ? defaultSshConfigSource(home)
        : { files: [options.sshConfig] };
    this.config = loadSshConfig(source, home);
  }

  /** `User` (unless -u was given) and `Port` for a host typed without them. */
  defaults(address: string): { user?: string; port?: number } {
    const found = this.config.resolve(address);
    return { user: this.options.given.has('user') ? undefined : found.user, port: found.port };
  }

  /**
   * How to reach the host: its real address, keys, jump hosts, timeout and host-key policy.
   *
   * @throws OrgalorgError (code `key.read`) when nothing at all could log in to it.
   */
  route(host: HostSpec): HostRoute {
    const route = this.hop(host.address, host.user, host.port);
    if (
      !this.common &&
      [route, ...(route.jumps ?? [])].some((hop) => (hop.keys ?? []).length === 0)
    ) {
      throw new OrgalorgError(
        `no SSH key to log in to ${host.node} with: SSH_AUTH_SOCK is not set, none of ` +
          '~/.ssh/id_ed25519, id_ecdsa, id_rsa exists and ssh_config names no IdentityFile; ' +
          'give a key with -k <file>',
        { code: 'key.read', host },
      );
    }
    return route;
  }

  private hop(
    typed: string,
    user: string | undefined,
    port: number | undefined,
    path: readonly string[] = [],
  ): HostRoute {
    // A ProxyJump that leads back to a host on the way would never end.
    if (path.includes(typed) || path.length > 8) {
      throw new OrgalorgError(`ProxyJump loop in ssh_config: ${[...path, typed].join(' -> ')}`, {
        code: 'ssh-config',
      });
    }
    const found = this.config.resolve(typed, user);
    const given = this.options.given;
    const route: HostRoute = {
      address: found.hostName ?? typed,
      port: port ?? found.port ?? 22,
      user: user ?? found.user ?? this.options.user,
      keys: found.identityFiles.flatMap((file) => this.key(file)),
      connectTimeout: given.has('connTimeout') ? undefined : found.connectTimeoutMs || undefined,
      jumps: found.proxyJump.map((jump) =>
        this.hop(jump.host, jump.user, jump.port, [...path, typed]),
      ),
      hostKeyPolicy: given.has('hostKeyCheck')
        ? this.options.hostKeyCheck
        : (found.strictHostKeyChecking ?? this.options.hostKeyCheck),
      knownHostsFiles:
        this.options.knownHosts !== undefined
          ? [this.options.knownHosts]
          : found.userKnownHostsFiles.length > 0
            ? found.userKnownHostsFiles
            : [join(this.home, '.ssh', 'known_hosts')],
    };
    return {
      ...route,
      hostKeyTypes: knownHostKeyTypes(this.trust(route), route.address, route.port),
    };
  }

  /** The known_hosts files and policy of a hop. */
  private trust(hop: HostRoute): KnownHostsConfig {
    const files = hop.knownHostsFiles ?? [join(this.home, '.ssh', 'known_hosts')];
    return {
      files: [...files, GLOBAL_KNOWN_HOSTS],
      record: files[0] ?? '',
      policy: hop.hostKeyPolicy ?? 'accept-new',
    };
  }

  /** An IdentityFile key, read once; one that cannot be used is skipped with a warning. */
  private key(file: string): ParsedKey[] {
    if (!this.keys.has(file)) {
      let key: ParsedKey | undefined;
      try {
        key = loadKeys(file)[0];
      } catch (error: unknown) {
        this.log({ level: 'warn', message: `skipping IdentityFile: ${errorMessage(error)}` });
      }
      this.keys.set(file, key);
    }
    const key = this.keys.get(file);
    return key === undefined ? [] : [key];
  }

  /** Checks a host's key against its known_hosts files; throws to refuse it. */
  verify(hop: HostRoute, key: Buffer): void {
    const files = hop.knownHostsFiles ?? [join(this.home, '.ssh', 'known_hosts')];
    const checked = verifyHostKey(
      {
        files: [...files, GLOBAL_KNOWN_HOSTS],
        record: files[0] ?? '',
        policy: hop.hostKeyPolicy ?? 'accept-new',
      },
      hop.address,
      hop.port,
      key,
    );
    if (checked.recorded) {
      this.log({
        level: 'debug',
        message: `recorded the host key of ${hop.address}:${hop.port} (${checked.keyType} ${checked.fingerprint}) in ${files[0]}`,
      });
    }
  }
}
