/**
 * Runs one Lambda function's bundled handler in a pool of worker threads, the way Lambda runs it in
 * execution environments: one invocation per worker at a time, module scope kept between invocations,
 * the function's environment variables, a context object with the remaining time, and the function's
 * timeout enforced by ending the worker (as Lambda ends the environment).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

/**
 * The access key a function signs with on the local cloud: `AKIA` and 16 characters derived from its name.
 * moto accepts any key (and keeps one account for unknown keys), so only the proxy's observers read it.
 */
export function localAccessKeyId(functionName: string): string {
  const digits = createHash('sha256').update(functionName).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return `AKIA${[...digits.subarray(0, 16)].map((b) => alphabet[b % 32]).join('')}`;
}

import type { FunctionInfo } from './discovery';

/** The error of a failed invocation, in Lambda's shape. */
export interface InvocationError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: string[];
}

/** The outcome of one invocation: the handler's JSON result, or its error. */
export type InvocationOutcome =
  | { readonly ok: true; readonly result: unknown; readonly requestId: string; readonly durationMs: number }
  | { readonly ok: false; readonly error: InvocationError; readonly requestId: string; readonly durationMs: number };

/** Options of a {@link FunctionPool}. */
export interface FunctionPoolOptions {
  /** AWS endpoint the handler's SDK clients use (AWS_ENDPOINT_URL). */
  readonly endpoint: string;
  /** Most workers (concurrent invocations) of this function; more invocations wait. @default 8 */
  readonly maxWorkers?: number;
  /** Receives every output line of the handler. */
  readonly onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Environment variables that replace the function's own (e.g. rewritten queue URLs). @default - none */
  readonly environmentOverrides?: Readonly<Record<string, string>>;
}

/** The pool was stopped: no more invocations. */
export class FunctionPoolStoppedError extends Error {
  constructor(functionName: string) {
    super(`the local runtime of ${functionName} is stopped`);
    this.name = 'FunctionPoolStoppedError';
  }
}

/**
 * The worker's code (CommonJS, run with `eval: true` so it survives bundling of the CLI): loads the
 * bundle once, then answers `invoke` messages one at a time.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

// The Lambda Node.js runtime provides the AWS SDK v3, so bundles built for it (NodejsFunction's default)
// keep @aws-sdk/* external: resolve those from the local runtime's node_modules when the bundle has none.
const sdkRequire = Module.createRequire(workerData.sdkResolveFrom);
const originalResolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  try {
    return originalResolve.call(this, request, parent, isMain, options);
  } catch (err) {
    if (typeof request === 'string' && request.startsWith('@aws-sdk/')) return sdkRequire.resolve(request);
    throw err;
  }
};

function toError(err, fallbackType) {
  if (err instanceof Error) {
    return { errorType: err.name || fallbackType, errorMessage: err.message, trace: String(err.stack || '').split('\\n') };
  }
  return { errorType: fallbackType, errorMessage: typeof err === 'string' ? err : JSON.stringify(err) };
}

async function load() {
  const handler = workerData.handler;
  const dot = handler.lastIndexOf('.');
  const file = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const base = path.join(workerData.bundleDir, file);
  let mod;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (!fs.existsSync(base + ext)) continue;
    mod = ext === '.mjs' ? await import(pathToFileURL(base + ext).href) : require(base + ext);
    break;
  }
  if (mod === undefined) {
    const err = new Error('Cannot find module ' + JSON.stringify(file) + ' in ' + workerData.bundleDir);
    err.name = 'Runtime.ImportModuleError';
    throw err;
  }
  const fn = mod[exportName] ?? (mod.default && mod.default[exportName]);
  if (typeof fn !== 'function') {
    const err = new Error(handler + ' is undefined or not exported');
    err.name = 'Runtime.HandlerNotFound';
    throw err;
  }
  return fn;
}

const loaded = load().then((fn) => ({ fn }), (err) => ({ error: toError(err, 'Runtime.ImportModuleError') }));

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, requestId, deadline, event } = message;
  const state = await loaded;
  if (state.error) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: state.error });
    return;
  }
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: workerData.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: String(workerData.memoryMb),
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/' + workerData.functionName,
    logStreamName: workerData.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const input = JSON.parse(event);
    let result;
    if (state.fn.length >= 3) {
      result = await new Promise((resolve, reject) => {
        const returned = state.fn(input, context, (err, value) => (err ? reject(err) : resolve(value)));
        if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
      });
    } else {
      result = await state.fn(input, context);
    }
    parentPort.postMessage({ type: 'result', id, ok: true, result: JSON.stringify(result === undefined ? null : result) });
  } catch (err) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: toError(err, 'Error') });
  }
});
`;

interface WorkerSlot {
  readonly worker: Worker;
  readonly id: number;
  busy: boolean;
  dead: boolean;
  current?: { id: number; settle: (outcome: InvocationOutcome) => void; requestId: string; started: number };
}

/** A pool of execution environments of one function. */
export class FunctionPool {
  private readonly slots: WorkerSlot[] = [];
  private readonly waiting: { resolve: (slot: WorkerSlot) => void; reject: (err: Error) => void }[] = [];
  private nextSlotId = 1;
  private nextInvocationId = 1;
  private stopped = false;
  private readonly maxWorkers: number;
  private readonly sdkResolveFrom: string;

  constructor(
    /** The function this pool runs. */
    readonly info: FunctionInfo,
    private readonly opts: FunctionPoolOptions,
  ) {
    this.maxWorkers = opts.maxWorkers ?? 8;
    this.sdkResolveFrom = sdkResolveBase();
  }

  /** Number of invocations running now. */
  get inFlight(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /** Runs the handler with `event`; never rejects for handler errors (they are in the outcome). */
  async invoke(event: unknown, requestId: string = randomUUID()): Promise<InvocationOutcome> {
    if (this.stopped) throw new FunctionPoolStoppedError(this.info.functionName);
    const slot = await this.acquire();
    const started = Date.now();
    const timeoutMs = this.info.timeoutSeconds * 1000;
    const id = this.nextInvocationId++;
    return new Promise<InvocationOutcome>((resolve) => {
      const timer = setTimeout(() => {
        // Lambda ends the execution environment on a timeout; so do we (the module scope is lost).
        this.retire(slot);
        settle({
          ok: false,
          requestId,
          durationMs: Date.now() - started,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${this.info.timeoutSeconds.toFixed(2)} seconds`,
          },
        });
        void slot.worker.terminate();
      }, timeoutMs);
      const settle = (outcome: InvocationOutcome): void => {
        if (slot.current?.id !== id) return;
        clearTimeout(timer);
        slot.current = undefined;
        slot.busy = false;
        resolve(outcome);
        this.release(slot);
      };
      slot.current = { id, settle, requestId, started };
      slot.worker.postMessage({
        type: 'invoke',
        id,
        requestId,
        deadline: started + timeoutMs,
        event: JSON.stringify(event),
      });
    });
  }

  /**
   * Stops taking invocations, waits up to `graceMs` for running ones, then ends every worker.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new FunctionPoolStoppedError(this.info.functionName));
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([...this.slots].map((slot) => this.discard(slot)));
  }

  private acquire(): Promise<WorkerSlot> {
    const idle = this.slots.find((s) => !s.busy && !s.dead);
    if (idle !== undefined) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (this.slots.length < this.maxWorkers) {
      const slot = this.spawn();
      slot.busy = true;
      return Promise.resolve(slot);
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Hands a finished slot to the next waiter; a dead slot's waiter gets a fresh worker. */
  private release(slot: WorkerSlot): void {
    const waiter = this.waiting.shift();
    if (waiter === undefined) return;
    const next = slot.dead ? this.spawn() : slot;
    next.busy = true;
    waiter.resolve(next);
  }

  /** Takes a slot out of the pool (it will not be reused). */
  private retire(slot: WorkerSlot): void {
    if (slot.dead) return;
    slot.dead = true;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
  }

  private spawn(): WorkerSlot {
    const id = this.nextSlotId++;
    const info = this.info;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      ...info.environment,
      ...this.opts.environmentOverrides,
      AWS_ENDPOINT_URL: this.opts.endpoint,
      AWS_REGION: info.region,
      AWS_DEFAULT_REGION: info.region,
      // A key of the function's own, as Lambda gives each function its role's credentials: what a function
      // calls can be told apart from the runtime's and other functions' calls (test/iam records them by key).
      AWS_ACCESS_KEY_ID: localAccessKeyId(info.functionName),
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_LAMBDA_FUNCTION_NAME: info.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(info.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${info.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/${id}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${info.runtime}`,
      LAMBDA_TASK_ROOT: info.bundleDir,
      _HANDLER: info.handler,
      // Lambda runs Node 22, where the SDK has nothing to warn about; the local Node may be 20.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      env,
      stdout: true,
      stderr: true,
      workerData: {
        bundleDir: info.bundleDir,
        handler: info.handler,
        functionName: info.functionName,
        functionArn: info.functionArn,
        memoryMb: info.memoryMb,
        logStreamName: `local/${id}`,
        sdkResolveFrom: this.sdkResolveFrom,
      },
    });
    const slot: WorkerSlot = { worker, id, busy: false, dead: false };
    forEachLine(worker.stdout, (line) => this.opts.onOutput(line, 'stdout'));
    forEachLine(worker.stderr, (line) => this.opts.onOutput(line, 'stderr'));
    worker.on(
      'message',
      (message: { type: string; id: number; ok: boolean; result?: string; error?: InvocationError }) => {
        const current = slot.current;
        if (message.type !== 'result' || current === undefined || current.id !== message.id) return;
        const base = { requestId: current.requestId, durationMs: Date.now() - current.started };
        current.settle(
          message.ok
            ? { ok: true, result: JSON.parse(message.result ?? 'null'), ...base }
            : { ok: false, error: message.error ?? { errorType: 'Error', errorMessage: 'unknown error' }, ...base },
        );
      },
    );
    const onDeath = (error: InvocationError): void => {
      this.retire(slot);
      const current = slot.current;
      if (current !== undefined)
        current.settle({ ok: false, error, requestId: current.requestId, durationMs: Date.now() - current.started });
    };
    // An uncaught exception or unhandled rejection ends a Lambda environment too.
    worker.on('error', (err) =>
      onDeath({
        errorType: err.name === 'Error' ? 'Runtime.UnhandledError' : err.name,
        errorMessage: err.message,
        trace: String(err.stack ?? '').split('\n'),
      }),
    );
    worker.on('exit', (code) =>
      onDeath({ errorType: 'Runtime.ExitError', errorMessage: `RequestId: exited with code ${code}` }),
    );
    this.slots.push(slot);
    return slot;
  }

  private async discard(slot: WorkerSlot): Promise<void> {
    this.retire(slot);
    await slot.worker.terminate();
  }
}

/** A file path from which `@aws-sdk/*` resolves to the local runtime's own copy. */
function sdkResolveBase(): string {
  // This module's own location first (works from a checkout and from the bundled CLI), else the cwd.
  const candidates = [typeof __filename === 'string' ? __filename : undefined, join(process.cwd(), 'package.json')];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      return createRequire(candidate).resolve('@aws-sdk/client-dynamodb');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  return join(process.cwd(), 'package.json');
}

/** Calls `onLine` for every line of a stream (the last partial line at its end). */
export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line !== '') onLine(line);
      newline = buffer.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffer !== '') onLine(buffer);
    buffer = '';
  });
}
