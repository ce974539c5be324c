/**
 * Starting and stopping a private moto_server, and the environment that points SDKs and CLIs at it.
 *
 * moto is the local cloud (see the README's "local cloud" section): one server serves every region (the
 * region comes from the request signature), accepts any credentials and uses account 123456789012. We only
 * ever talk to a server we started ourselves: another process's `/moto-api/reset` would wipe a shared one.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';

/** The account moto uses for every request, whatever the credentials. */
export const LOCAL_ACCOUNT = '123456789012';

/** The header with which a request to moto runs in another account than {@link LOCAL_ACCOUNT}. */
export const MOTO_ACCOUNT_HEADER = 'x-moto-account-id';

/** Any SDK v3 client (its middleware stack is all this module needs). */
interface ClientWithMiddleware {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { request: unknown }) => Promise<unknown>,
      ) => (args: { request: unknown }) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ): void;
  };
}

/**
 * Makes every request of `client` run in `account` on moto (its `x-moto-account-id` header), as the target
 * account's own credentials would on AWS; the default account needs nothing. Returns the client.
 */
export function inMotoAccount<C>(client: C, account: string | undefined): C {
  if (account === undefined || account === LOCAL_ACCOUNT) return client;
  (client as unknown as ClientWithMiddleware).middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers[MOTO_ACCOUNT_HEADER] = account;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

/**
 * An S3 client for moto at `endpoint` with test credentials, in its default account or in `account`:
 * path-style addressing, as `bucket.localhost` does not resolve.
 */
export function motoS3Client(endpoint: string, region: string, account?: string): S3Client {
  return inMotoAccount(
    new S3Client({
      region,
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    account,
  );
}

/** How long to wait for a freshly spawned moto_server to answer. */
const START_TIMEOUT_MS = 30_000;
/** How long stop() waits after SIGTERM before sending SIGKILL. */
const KILL_AFTER_MS = 5_000;

/** A moto_server this process started. */
export interface MotoServer {
  /** Base URL for SDK clients and the CDK CLI, with the host name `localhost` (see {@link startMoto}). */
  readonly endpoint: string;
  /** The TCP port the server listens on (127.0.0.1 only). */
  readonly port: number;
  /** Process id of the moto_server we spawned. */
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Options of {@link startMoto}. */
export interface StartMotoOptions {
  /**
   * Host name used in the returned endpoint.
   * @default - `localhost`: moto fetches a CloudFormation template from its own S3 only when the template
   * URL's host is localhost, so `cdk deploy` needs it.
   */
  readonly host?: string;
  /** File that receives moto_server's stdout and stderr. @default - the output is discarded */
  readonly logFile?: string;
  /**
   * Keep moto's own event source mapping emulation. moto "invokes" a mapped function itself on every write
   * to a DynamoDB table or SQS queue that has a mapping: with no Docker that invocation fails, and moto
   * then empties the table's stream (DynamoDB: the records are gone before anyone can read them and
   * sequence numbers restart) or receives the messages once (SQS: ApproximateReceiveCount grows, so a
   * redrive policy moves them to the DLQ early). The local runtime must be the only consumer, so by
   * default moto_server starts with a `sitecustomize` hook (through PYTHONPATH) that keeps mappings from
   * being attached to tables, queues and Kinesis streams; the mappings themselves still exist in moto.
   * @default false
   */
  readonly keepMotoEventSourceMappings?: boolean;
  /**
   * Have moto check the conditions of S3 copies as S3 does (target If-Match / If-None-Match on CopyObject,
   * `x-amz-copy-source-if-match` on CopyObject and UploadPartCopy), inside the request that copies: stock moto
   * ignores them (see s3-conditions.ts). Off, a copy's conditions are dropped as stock moto drops them.
   * @default true
   */
  readonly s3CopyConditions?: boolean;
  /**
   * Have moto answer CloudFormation change sets as CloudFormation does, so that `cdk deploy` can update a
   * deployed stack: describing a change set that is not there fails with ChangeSetNotFoundException (moto 5
   * says ValidationError "Stack with id ... does not exist", which the CDK CLI takes for a failure while it waits
   * for its old change set to be gone), deleting one that is not there is no error (moto: a 500), executing one
   * deletes the stack's change sets, and `UsePreviousValue` for an SSM-typed parameter (CDK's BootstrapVersion)
   * keeps the parameter's name (moto gave its resolved value, then failed to find that in SSM: a 500). Off,
   * moto's own answers (a second deploy of a changed stack fails).
   * @default true
   */
  readonly cloudFormationChangeSets?: boolean;
  /** TCP port to listen on. @default - a free port */
  readonly port?: number;
}

/** moto_server is not on the PATH. */
export class MotoNotFoundError extends Error {
  constructor(searchedPath: string) {
    super(
      'moto_server was not found on the PATH. The local cloud needs moto 5.x with its server extra: ' +
        "`pip install 'moto[server]>=5,<6'` (or `pipx install 'moto[server]>=5,<6'`). Debian 12 has no " +
        "python3-moto package; on this project's machines moto 5.2.1 comes with the pyenv Python 3.11 " +
        '(`pyenv global 3.11.7 && pyenv rehash` makes the moto_server shim appear). ' +
        `Searched PATH: ${searchedPath || '(empty)'}`,
    );
    this.name = 'MotoNotFoundError';
  }
}

/** moto_server exited early or did not answer in time. */
export class MotoStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MotoStartError';
  }
}

/** Finds the moto_server executable on `envPath` (the PATH), or undefined. */
export function findMotoServer(envPath: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'moto_server');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Asks the OS for a free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new MotoStartError('could not read a free port'))));
    });
  });
}

/**
 * Spawns `moto_server -H 127.0.0.1 -p PORT` on a free port and waits until `/moto-api/` answers (30 s).
 * @throws MotoNotFoundError when moto_server is not on the PATH
 * @throws MotoStartError when it exits early or does not answer in time
 */
export async function startMoto(opts: StartMotoOptions = {}): Promise<MotoServer> {
  const executable = findMotoServer();
  if (executable === undefined) throw new MotoNotFoundError(process.env.PATH ?? '');
  const host = opts.host ?? 'localhost';
  const port = opts.port ?? (await freePort());
  const hookDir = writeSiteCustomize();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: [hookDir, process.env.PYTHONPATH].filter((p) => p !== undefined && p !== '').join(delimiter),
    [HOOK_ENV.detachMappings]: opts.keepMotoEventSourceMappings === true ? '0' : '1',
    [HOOK_ENV.copyConditions]: opts.s3CopyConditions === false ? '0' : '1',
    [HOOK_ENV.changeSets]: opts.cloudFormationChangeSets === false ? '0' : '1',
  };
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    detached: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const log = opts.logFile !== undefined ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  // Always drain the pipes: an unread pipe fills up and blocks moto once it has logged ~64 KB.
  child.stdout?.on('data', (chunk: Buffer) => log?.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log?.write(chunk));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  // If this process exits without stop() (a failed test, an uncaught error), take moto down with it:
  // an orphaned server would keep its port and memory. 'exit' handlers must be synchronous.
  const onParentExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(hookDir, { recursive: true, force: true });
  };
  process.once('exit', onParentExit);
  exited.then(() => {
    process.removeListener('exit', onParentExit);
    log?.end();
    rmSync(hookDir, { recursive: true, force: true });
  });

  const stop = async (): Promise<void> => {
    await killAndWait(child, exited);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError !== undefined) throw new MotoStartError(`moto_server could not start: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new MotoStartError(
        `moto_server exited (code ${child.exitCode}, signal ${child.signalCode}) before answering on port ${port}`,
      );
    }
    if (await answers(`http://127.0.0.1:${port}/moto-api/`)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new MotoStartError(`moto_server did not answer on port ${port} within ${START_TIMEOUT_MS / 1000} s`);
    }
    await sleep(100);
  }
  return { endpoint: `http://${host}:${port}`, port, pid: child.pid!, stop };
}

/**
 * Whether the moto_server at `endpoint` runs with the hook of {@link startMoto} that keeps moto's own
 * event source mapping emulation away (without it, DynamoDB stream records vanish as they are written).
 */
export function motoDetachesEventSourceMappings(endpoint: string): Promise<boolean> {
  return hookMark(endpoint, HOOK_MARK.detachMappings);
}

/**
 * Whether the moto_server at `endpoint` checks S3 copy conditions itself ({@link StartMotoOptions.s3CopyConditions});
 * false for a server started without the hook, or one that does not answer.
 */
export function motoChecksCopyConditions(endpoint: string): Promise<boolean> {
  return hookMark(endpoint, HOOK_MARK.copyConditions).catch(() => false);
}

/** Whether a part of the hook left its mark in `GET /moto-api/config` (see {@link HOOK_MARK}). */
async function hookMark(endpoint: string, mark: string): Promise<boolean> {
  const res = await fetch(`${endpoint.replace(/\/+$/, '')}/moto-api/config`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) return false;
  const config = (await res.json()) as { lambda?: Record<string, unknown> };
  return config.lambda?.[mark] === true;
}

/** Builds the environment for SDK and CLI calls to a local cloud: a copy of `base` with the moto endpoint,
 * test credentials, the region and the CDK defaults; AWS_PROFILE and AWS_CA_BUNDLE removed (a profile
 * would override the test credentials, and a CA bundle breaks some clients on plain http). */
export function localCloudEnv(
  endpoint: string,
  region: string,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    CDK_DEFAULT_ACCOUNT: LOCAL_ACCOUNT,
    CDK_DEFAULT_REGION: region,
  };
  delete env.AWS_PROFILE;
  delete env.AWS_CA_BUNDLE;
  delete env.AWS_SESSION_TOKEN;
  return env;
}

/** The environment variables that switch the parts of the moto hook on ('1') or off. */
const HOOK_ENV = {
  detachMappings: 'REPLICATOR_MOTO_DETACH_MAPPINGS',
  copyConditions: 'REPLICATOR_MOTO_S3_COPY_CONDITIONS',
  changeSets: 'REPLICATOR_MOTO_CHANGE_SETS',
} as const;

/**
 * The keys each part of the hook sets to true in moto's config, in its "lambda" section: `GET /moto-api/config`
 * shows only that one and "batch".
 */
const HOOK_MARK = {
  detachMappings: 'detachedEventSourceMappings',
  copyConditions: 'replicatorS3CopyConditions',
  changeSets: 'replicatorChangeSets',
} as const;

/**
 * Python run at moto_server's start (sitecustomize, found through PYTHONPATH), each part switched by its
 * {@link HOOK_ENV} variable:
 * - makes the `lambda_event_source_mappings` registry of tables, queues and Kinesis streams always empty, so
 *   moto never tries its own (Docker) invocation on writes;
 * - checks S3 copy conditions before moto copies, as S3 does (moto 5 ignores them): the source's
 *   `x-amz-copy-source-if-match` on CopyObject and UploadPartCopy (404 NoSuchKey when the source is gone, 412
 *   when its ETag differs), and the target's If-None-Match: * / If-Match on CopyObject (412; 404 NoSuchKey for
 *   If-Match on a key that is gone), each in the request that copies, so the check costs no request of its own.
 * - answers the CloudFormation change-set calls of a stack update as CloudFormation does (see
 *   {@link StartMotoOptions.cloudFormationChangeSets}), so `cdk deploy` can update a deployed stack.
 * Each part says in GET /moto-api/config that it is on. Then chains to the next sitecustomize on sys.path
 * (Debian ships one), as if ours were not there.
 */
const SITE_CUSTOMIZE = `# Written by Replicator's local runtime (src/local/moto.ts); removed when its moto_server stops.
import sys


def _replicator_detach_event_source_mappings():
    class _AlwaysEmpty(dict):
        def __setitem__(self, key, value):
            pass

    registry = property(lambda self: _AlwaysEmpty(), lambda self, value: None)
    for module_name, class_name in (
        ("moto.dynamodb.models.table", "Table"),
        ("moto.sqs.models", "Queue"),
        ("moto.kinesis.models", "Stream"),
    ):
        try:
            module = __import__(module_name, fromlist=[class_name])
            setattr(getattr(module, class_name), "lambda_event_source_mappings", registry)
        except Exception as err:  # a moto without that class: say so, keep starting
            sys.stderr.write("replicator: could not patch %s.%s: %r\\n" % (module_name, class_name, err))


def _replicator_check_copy_conditions():
    from urllib.parse import parse_qs, unquote, urlparse

    from moto.core.config import default_user_config
    from moto.s3.exceptions import MissingKey, PreconditionFailed
    from moto.s3.responses import S3Response

    def same(a, b):
        return a.replace('"', "") == b.replace('"', "")

    def check(self, part):
        want = self.headers.get("x-amz-copy-source-if-match")
        if want is not None:
            source = self.headers.get("x-amz-copy-source")
            if isinstance(source, bytes):
                source = source.decode("utf-8")
            parsed = urlparse(source)
            bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
            version = parse_qs(parsed.query).get("versionId", [None])[0]
            found = self.backend.get_object(bucket, key, version_id=version)
            if found is None:
                raise MissingKey(key=key)
            if not same(found.etag, want):
                raise PreconditionFailed("x-amz-copy-source-If-Match")
        if part:
            return  # a part has no target conditions: the upload's completion carries them
        if_none_match = self.headers.get("If-None-Match")
        if_match = self.headers.get("If-Match")
        if if_none_match is None and if_match is None:
            return
        current = self.backend.get_object(self.bucket_name, self.parse_key_name())
        if if_none_match == "*" and current is not None:
            raise PreconditionFailed("If-None-Match")
        if if_match is not None:
            if current is None:
                raise MissingKey(key=self.parse_key_name())
            if not same(current.etag, if_match):
                raise PreconditionFailed("If-Match")

    copy_object = S3Response.copy_object
    upload_part_copy = S3Response.upload_part_copy

    def checked_copy_object(self, *args, **kwargs):
        check(self, False)
        return copy_object(self, *args, **kwargs)

    def checked_upload_part_copy(self, *args, **kwargs):
        check(self, True)
        return upload_part_copy(self, *args, **kwargs)

    S3Response.copy_object = checked_copy_object
    S3Response.upload_part_copy = checked_upload_part_copy
    default_user_config.setdefault("lambda", {})["${HOOK_MARK.copyConditions}"] = True


def _replicator_change_sets():
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.core.config import default_user_config

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFoundException"

        def __init__(self, name):
            super().__init__("ChangeSet [%s] does not exist" % (name,))
            self.status_code = 404

    execute = CloudFormationBackend.execute_change_set

    def find(self, name):
        # By ARN (the key) or by name, as moto's own lookups.
        return self.change_sets.get(name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == name), None
        )

    def describe_change_set(self, change_set_name):
        found = find(self, change_set_name)
        if found is None:
            raise ChangeSetNotFound(change_set_name)
        return found

    def delete_change_set(self, change_set_name):
        found = find(self, change_set_name)
        if found is not None:  # a name that is not there is no error (the CDK CLI relies on it)
            del self.change_sets[found.change_set_id]

    def execute_change_set(self, change_set_name, stack_name=None):
        found = find(self, change_set_name)
        if found is None:
            raise ChangeSetNotFound(change_set_name)
        execute(self, found.change_set_id, stack_name)
        # CloudFormation deletes every change set of a stack once one of them has been executed.
        for cid in [cid for cid, c in self.change_sets.items() if c.stack_id == found.stack_id]:
            del self.change_sets[cid]

    def previous_parameters(self):
        # A parameter passed with UsePreviousValue keeps the value it was given: for an SSM-typed parameter (CDK's
        # BootstrapVersion) that is the parameter's name, which CloudFormation resolves again; moto gave the
        # resolved value, then looked that up in SSM as a name and failed the update.
        resources = self.resource_map
        values = dict(resources.resolved_parameters)
        for key, slot in (resources._template.get("Parameters") or {}).items():
            if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::"):
                values[key] = resources.input_parameters.get(key, slot.get("Default"))
        return values

    Stack.stack_parameters = property(previous_parameters)
    CloudFormationBackend.describe_change_set = describe_change_set
    CloudFormationBackend.delete_change_set = delete_change_set
    CloudFormationBackend.execute_change_set = execute_change_set
    default_user_config.setdefault("lambda", {})["${HOOK_MARK.changeSets}"] = True


def _replicator_chain_sitecustomize():
    import importlib.machinery
    import importlib.util
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    others = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def _replicator_mark_detached():
    # Visible in GET /moto-api/config, so a runtime can tell this server from one started without the hook.
    try:
        from moto.core.config import default_user_config

        default_user_config.setdefault("lambda", {})["${HOOK_MARK.detachMappings}"] = True
    except Exception as err:
        sys.stderr.write("replicator: could not mark the moto config: %r\\n" % (err,))


def _replicator_part(name, patch):
    import os

    if os.environ.get(name) != "1":
        return
    try:
        patch()
    except Exception as err:  # a moto without what the part patches: say so, keep starting
        sys.stderr.write("replicator: could not apply %s: %r\\n" % (name, err))


if "moto_server" in (sys.argv[0] if sys.argv else ""):
    _replicator_part("${HOOK_ENV.detachMappings}", _replicator_detach_event_source_mappings)
    _replicator_part("${HOOK_ENV.detachMappings}", _replicator_mark_detached)
    _replicator_part("${HOOK_ENV.copyConditions}", _replicator_check_copy_conditions)
    _replicator_part("${HOOK_ENV.changeSets}", _replicator_change_sets)
_replicator_chain_sitecustomize()
`;

function writeSiteCustomize(): string {
  const dir = mkdtempSync(join(tmpdir(), 'replicator-moto-'));
  writeFileSync(join(dir, 'sitecustomize.py'), SITE_CUSTOMIZE);
  return dir;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status < 500;
  } catch (err) {
    // Connection refused while the server boots: that is the expected "not yet".
    if (err instanceof Error) return false;
    throw err;
  }
}

async function killAndWait(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, KILL_AFTER_MS);
  await exited;
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
