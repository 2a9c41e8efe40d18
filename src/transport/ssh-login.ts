import type { Duplex } from 'node:stream';
import ssh2, { type AnyAuthMethod, type ParsedKey } from 'ssh2';
import type { HostSpec } from '../types.js';

export interface SshTransportConfig {
  /** Parsed private keys, offered after the agent's. */
  readonly keys: readonly ParsedKey[];
  /** ssh-agent socket (`SSH_AUTH_SOCK`), asked first. */
  readonly agent?: string;
  /** How long connecting, the SSH handshake and login may take, in ms (`-c`). */
  readonly connectTimeout: number;
  /** Interval of SSH keep-alive requests in ms (`-a`); 0 turns them off. */
  readonly keepAlive: number;
  /** How long a silent connection is trusted before it counts as lost, in ms (`-z`). */
  readonly receiveTimeout: number;
  /** A password (`-p`), offered first, for password and keyboard-interactive login. */
  readonly password?: string;
  /** Checks a host's key (known_hosts); throws to refuse the host. None: every key is taken. */
  readonly verifyHostKey?: (hop: HostRoute, key: Buffer) => void;
  /** Where each host really is (ssh_config): address, user, port, keys, jump hosts. */
  readonly route?: (host: HostSpec) => HostRoute;
}

/** Where and how to reach one host, after ssh_config: the address, login and jump hosts. */
export interface HostRoute {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Keys for this host only (ssh_config IdentityFile), offered before the common ones. */
  readonly keys?: readonly ParsedKey[];
  readonly connectTimeout?: number;
  /** Jump hosts to go through, first hop first (ssh_config ProxyJump). */
  readonly jumps?: readonly HostRoute[];
  /** How this host's key is checked (ssh_config StrictHostKeyChecking, --host-key-check). */
  readonly hostKeyPolicy?: 'accept-new' | 'strict' | 'off';
  /** The user's known_hosts files for this host (ssh_config UserKnownHostsFile). */
  readonly knownHostsFiles?: readonly string[];
  /** Key types known_hosts holds for this host: asked for first, as OpenSSH does. */
  readonly hostKeyTypes?: readonly string[];
}

const HOST_KEY_ALGORITHMS: readonly string[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * The host key algorithms with those of the known key types first (an `ssh-rsa` key also
 * signs with SHA-2), so a host known by an ECDSA key is not asked for its Ed25519 one.
 */
function preferHostKeys(types: readonly string[]): ssh2.ServerHostKeyAlgorithm[] {
  const known = types
    .flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]))
    .filter((algorithm) => HOST_KEY_ALGORITHMS.includes(algorithm));
  const rest = HOST_KEY_ALGORITHMS.filter((algorithm) => !known.includes(algorithm));
  return [...known, ...rest] as ssh2.ServerHostKeyAlgorithm[];
}

export function closeAll(clients: readonly ssh2.Client[]): void {
  for (const client of [...clients].reverse()) client.destroy();
}

/** Opens one SSH connection and logs in, directly or through a jump host's tunnel. */
export async function login(
  hop: HostRoute,
  config: SshTransportConfig,
  through: ssh2.Client | undefined,
): Promise<ssh2.Client> {
  const sock =
    through === undefined
      ? undefined
      : await new Promise<Duplex>((resolve, reject) =>
          through.forwardOut('127.0.0.1', 0, hop.address, hop.port, (error, stream) =>
            error
              ? reject(new Error(`jump to ${hop.address}:${hop.port} refused: ${error.message}`))
              : resolve(stream),
          ),
        );
  return new Promise<ssh2.Client>((resolve, reject) => {
    const client = new ssh2.Client();
    let refusedKey: unknown;
    client.on('error', (error) => reject(refusedKey ?? error));
    client.on('close', () => reject(refusedKey ?? new Error('connection closed before login')));
    client.on('ready', () => {
      client.removeAllListeners('error');
      resolve(client);
    });
    const offers = authOffers(hop, config);
    client.connect({
      ...(sock === undefined ? { host: hop.address, port: hop.port } : { sock }),
      username: hop.user,
      readyTimeout: hop.connectTimeout ?? config.connectTimeout,
      ...(hop.hostKeyTypes === undefined || hop.hostKeyTypes.length === 0
        ? {}
        : { algorithms: { serverHostKey: preferHostKeys(hop.hostKeyTypes) } }),
      keepaliveInterval: config.keepAlive,
      keepaliveCountMax: Math.max(1, Math.ceil(config.receiveTimeout / (config.keepAlive || 1))),
      hostVerifier: (key: Buffer) => {
        try {
          config.verifyHostKey?.(hop, key);
          return true;
        } catch (error: unknown) {
          refusedKey = error;
          return false;
        }
      },
      authHandler: (_left, _partial, next) => next(offers.shift() ?? (false as never)),
    });
  });
}

function authOffers(hop: HostRoute, config: SshTransportConfig): AnyAuthMethod[] {
  const username = hop.user;
  const agent: AnyAuthMethod[] =
    config.agent === undefined ? [] : [{ type: 'agent', username, agent: config.agent }];
  const { password } = config;
  const passwords: AnyAuthMethod[] =
    password === undefined
      ? []
      : [
          { type: 'password', username, password },
          {
            type: 'keyboard-interactive',
            username,
            // Every question of the server gets the one password (PAM asks "Password: ").
            prompt: (_name, _instructions, _lang, prompts, finish) =>
              finish(prompts.map(() => password)),
          },
        ];
  return [
    ...passwords,
    ...agent,
    ...[...(hop.keys ?? []), ...config.keys].map((key): AnyAuthMethod => ({
      type: 'publickey',
      username,
      key,
    })),
  ];
}
