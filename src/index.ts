// The public API: sources make host specs, operators do the work, sinks write the results,
// and the presets are the CLI's modes built from them.
export type {
  ExecEvent,
  HostEvent,
  HostSpec,
  LogEntry,
  LogHook,
  LogLevel,
  SyncEvent,
} from './types.js';
export type { ConnectedHost, HeldLock } from './host.js';
export { OrgalorgError, isOrgalorgError, type OrgalorgErrorCode } from './errors.js';
export { Session, session } from './session.js';

export { parseHost, type ParseHostConfig } from './sources/parse-host.js';
export { hostArgs, hostLines, hosts, isHostsFile, type HostsConfig } from './sources/hosts.js';
export { fileList, type FileEntry, type FileListConfig } from './sources/files.js';

export { allHosts } from './operators/all-hosts.js';
export { barrier } from './operators/barrier.js';
export { connect, type ConnectConfig } from './operators/connect.js';
export { exec, type ExecConfig } from './operators/exec.js';
export { expectSuccess, type ExpectSuccessConfig } from './operators/expect-success.js';
export type { Failover } from './operators/failover.js';
export { heartbeat, type HeartbeatConfig } from './operators/heartbeat.js';
export { lines, type LineInfo } from './operators/lines.js';
export { lock, type LockConfig } from './operators/lock.js';
export { syncProtocol, type SyncProtocolConfig } from './operators/sync-protocol.js';
export { upload, type UploadConfig } from './operators/upload.js';

export { errorLine, errorTree } from './sinks/error-tree.js';
export { toJson, type JsonConfig } from './sinks/json.js';
export { createLogger, toLog, type LoggerConfig } from './sinks/logger.js';
export type { Sink } from './sinks/output.js';
export { toRaw, type RawConfig } from './sinks/raw.js';
export { serial } from './sinks/serial.js';
export { toText, type TextConfig } from './sinks/text.js';

export type { CommandInput, Connection, RunConfig, Transport } from './transport/transport.js';
export { sshTransport, type HostRoute, type SshTransportConfig } from './transport/ssh.js';
export {
  fingerprint,
  verifyHostKey,
  type HostKeyPolicy,
  type KnownHostsConfig,
} from './transport/known-hosts.js';
export { loadSshConfig, type HostConfig, type SshConfigResolver } from './transport/ssh-config.js';
export { promptSecret } from './transport/prompt.js';
export { defaultKeyFiles, loadKeys, loadKeysAsking } from './transport/keys.js';
export { packArchive, type ArchiveConfig } from './transport/archive.js';
export { fanOut } from './transport/fan-out.js';
export { openInputFile } from './transport/input-file.js';
export { remoteCommand, shellQuote, type RemoteCommandConfig } from './transport/remote-command.js';

export { commandRun, fleet, lockHold, type CommandRunConfig, type FleetConfig } from './presets.js';
