/**
 * How the CLI fails: one line that names the cause, at most one line of hint that names the fix, and a
 * documented exit code (README, "Exit codes"). Every error a command can meet is mapped here once: config and
 * usage errors, the local cloud's own (an endpoint that is not Replicator's moto, a failed deploy), an endpoint
 * or AWS that cannot be reached, missing or expired credentials, a pair that is not deployed; anything else is a
 * bug, said as such. `--debug` adds the stack trace.
 */
import { CommanderError, InvalidArgumentError } from 'commander';
import { CheckpointConflictError } from '../../functions/engine/state-table';
import { ConfigError } from '../../lib/config';
import { DeployError } from '../local/deploy';
import { ReplicationTimeoutError, WaitUsageError } from '../wait/engine';
import { LocalCloudError } from './local-cloud';

/** The CLI's exit codes. */
export const EXIT = {
  /** Done; nothing differs. */
  OK: 0,
  /** A reconcile found differences it did not repair, or the demo did not converge. */
  DIFFERENCES: 1,
  /** A bad command line or config. */
  USAGE: 2,
  /** The endpoint or AWS cannot be reached, or the credentials do not work there. */
  UNREACHABLE: 3,
  /** The pair (or the whole config) is not deployed where the command looked. */
  NOT_DEPLOYED: 4,
  /** Anything else: a bug in Replicator. */
  INTERNAL: 5,
} as const;

/** An error the CLI reports as it is: its message is the line, `hint` the fix, `exitCode` the code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Where the failing command was looking: for the messages. */
export interface ErrorContext {
  readonly endpoint?: string;
  readonly region?: string;
  /** The pair the command was given, if any. */
  readonly pair?: string;
  /** The command, for the hint of a usage error. */
  readonly command?: string;
}

const NETWORK_CODES = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)\b/;
const NOT_FOUND = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'ResourceNotFoundException',
  'NoSuchBucket',
]);
const BAD_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'AuthorizationError']);

/** Where the command was looking, as messages say it. */
function where(ctx: ErrorContext): string {
  return `${ctx.region ? ` in ${ctx.region}` : ''}${ctx.endpoint ? ` at ${ctx.endpoint}` : ''}`;
}

/** The one-line SDK message, without what would quote data (an S3 error body, a request). */
function firstLine(message: string): string {
  const line = message.split('\n')[0]!.trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** Any error a command threw, as the CLI reports it. */
export function explain(err: unknown, ctx: ErrorContext = {}): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof LocalCloudError) return new CliError(err.message, EXIT.UNREACHABLE);
  if (err instanceof DeployError) {
    return new CliError(
      `\`${err.command}\` failed against the local cloud (exit code ${err.exitCode})`,
      EXIT.INTERNAL,
      'run `npx replicator local --verbose` to see its output',
    );
  }
  if (err instanceof ConfigError) {
    const unreadable = err.issues.length === 1 && err.issues[0]!.startsWith('cannot read the file');
    return new CliError(
      err.issues.length === 1 ? `config ${err.source}: ${err.issues[0]}` : err.message,
      EXIT.USAGE,
      unreadable
        ? 'give the config with --config PATH (default: replication.config.json in this directory)'
        : 'fix the config (README, "Configuration") and run again',
    );
  }
  if (err instanceof ReplicationTimeoutError) {
    return new CliError(
      err.message,
      EXIT.DIFFERENCES,
      "`npx replicator status` shows each target's queue and backlog; a target that cannot be read is named with its error",
    );
  }
  if (err instanceof WaitUsageError) {
    return new CliError(err.message, EXIT.USAGE, `see \`npx replicator ${ctx.command ?? 'wait'} --help\``);
  }
  if (err instanceof CheckpointConflictError) {
    return new CliError(
      `another run of pair "${ctx.pair ?? '?'}" holds its checkpoint (a deployed job, or a run in another terminal)`,
      EXIT.USAGE,
      '`npx replicator status` shows it; `backfill PAIR --stop` stops a deployed job; a stopped terminal run lets go within a minute',
    );
  }
  if (err instanceof InvalidArgumentError || err instanceof CommanderError) {
    const message = err.message.replace(/^error: /, '').replace(/^option '[^']+' argument '[^']*' is invalid\. /, '');
    return new CliError(message, EXIT.USAGE, `see \`npx replicator ${ctx.command ?? '<command>'} --help\``);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: string }).code ?? '';
  const text = `${e.name} ${code} ${e.message}`;
  if (NETWORK_CODES.test(text) || e.name === 'TimeoutError') {
    const cause = NETWORK_CODES.exec(text)?.[1] ?? e.name;
    return ctx.endpoint
      ? new CliError(
          `cannot reach ${ctx.endpoint} (${cause})`,
          EXIT.UNREACHABLE,
          'is the local cloud running there? start it with `npx replicator local` (it prints READY <endpoint>)',
        )
      : new CliError(`cannot reach AWS${where(ctx)} (${cause})`, EXIT.UNREACHABLE, 'check the network and the region');
  }
  if (e.name === 'CredentialsProviderError') {
    return new CliError(
      'no AWS credentials found',
      EXIT.UNREACHABLE,
      'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the local cloud needs none with --endpoint http://localhost:PORT)',
    );
  }
  if (BAD_CREDENTIALS.has(e.name)) {
    return new CliError(
      `AWS refused the credentials${where(ctx)} (${e.name})`,
      EXIT.UNREACHABLE,
      'renew them (e.g. `aws sso login`) or check AWS_PROFILE',
    );
  }
  if (DENIED.has(e.name)) {
    return new CliError(
      `not allowed${where(ctx)}: ${firstLine(e.message)}`,
      EXIT.UNREACHABLE,
      'the README lists the permissions the CLI needs ("IAM for the deployer and the CLI")',
    );
  }
  if (NOT_FOUND.has(e.name)) {
    const what = ctx.pair ? `pair "${ctx.pair}" is` : 'Replicator is';
    return new CliError(
      `${what} not deployed${where(ctx)} (${e.name}: ${firstLine(e.message)})`,
      EXIT.NOT_DEPLOYED,
      ctx.endpoint
        ? 'deploy it to the local cloud with `npx replicator local`, or check --endpoint'
        : 'deploy it with `npx cdk deploy --all`, or check --region and --config',
    );
  }
  return new CliError(
    `unexpected error: ${e.name}: ${firstLine(e.message)}`,
    EXIT.INTERNAL,
    'this is a bug in Replicator: run again with --debug and report the output',
  );
}
