/**
 * The local runtime: runs a `cdk deploy`ed app on moto, which stores Lambda functions, event source
 * mappings and schedules but never runs code. It discovers what to run from the cloud assembly and the
 * local cloud (see discovery.ts), applies the S3 bucket settings moto skips (s3-buckets.ts: notification
 * configurations of Custom::S3BucketNotifications, versioning), runs each function's bundle in worker threads
 * (function-pool.ts), polls every mapping's source (pollers.ts), fires schedules, turns EMF log lines into
 * CloudWatch metrics, and creates and evaluates the templates' alarms, which moto skips (alarms.ts).
 *
 * It knows nothing about any particular app: everything comes from the templates and from moto.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type AlarmInfo, type LocalAlarms, startLocalAlarms } from './alarms';
import {
  type AsyncInvokeInfo,
  type BucketNotificationInfo,
  type BucketVersioningInfo,
  discoverStack,
  type FunctionInfo,
  functionNameFromRef,
  type MappingInfo,
  type RuntimeStack,
  type ScheduleInfo,
} from './discovery';
import { type EmfRecord, parseEmfLine, putEmfMetrics } from './emf';
import { FunctionPool, type InvocationOutcome } from './function-pool';
import { HopRecorder } from './hops';
import { inMotoAccount, LOCAL_ACCOUNT, motoDetachesEventSourceMappings, motoS3Client } from './moto';
import { DynamoDbStreamPoller, type Poller, queueUrlOf, SqsPoller, type StreamPosition } from './pollers';
import { applyBucketNotifications, applyBucketVersioning, describeNotificationConfiguration } from './s3-buckets';

export type {
  BucketNotificationInfo,
  BucketVersioningInfo,
  FunctionInfo,
  MappingInfo,
  ScheduleInfo,
} from './discovery';
export type { EmfRecord } from './emf';
export type { InvocationOutcome } from './function-pool';

/** Options of a {@link LocalRuntime}. */
export interface LocalRuntimeOptions {
  /** Endpoint that handlers and pollers use (moto, or a counting proxy in front of it). */
  readonly endpoint: string;
  /**
   * Endpoint for the runtime's own bookkeeping calls: discovery and the PutMetricData of EMF lines, which
   * Lambda's log pipeline does for free in AWS. @default - `endpoint`
   */
  readonly controlEndpoint?: string;
  /** The cloud assembly folder (`cdk deploy --output`); relative template paths are resolved against it. */
  readonly assemblyDir: string;
  /** The deployed stacks to serve; each function's bundle is found next to its stack's template. */
  readonly stacks: RuntimeStack[];
  /** Receives runtime messages and the handlers' non-EMF output. @default - discarded */
  readonly log?: (line: string) => void;
  /** Called for every EMF record a handler prints (after it is sent to CloudWatch). @default - none */
  readonly onMetrics?: (emf: EmfRecord, fn: FunctionInfo) => void;
  /** Concurrent pollers per SQS mapping (Lambda starts with five). @default 2 */
  readonly sqsWorkersPerMapping?: number;
  /**
   * Waits before the retries of a failed asynchronous (scheduled) invocation, as Lambda spaces them.
   * @default - [60000, 120000]: about a minute, then two
   */
  readonly asyncRetryDelaysMs?: readonly number[];
  /** Most concurrent invocations of one function. @default 8 */
  readonly maxWorkersPerFunction?: number;
  /** How long stop() waits for running invocations before ending workers. @default 10000 */
  readonly stopGraceMs?: number;
  /**
   * Milliseconds between evaluations of the templates' alarms (see alarms.ts); 0 creates them without
   * evaluating. @default 10000
   */
  readonly alarmIntervalMs?: number;
  /**
   * Where the stream mappings of a runtime this one takes over from stopped ({@link LocalRuntime.streamPositions}):
   * a mapping found here goes on after the records it was done with, as a Lambda mapping does when its stack is
   * updated; one not found (new, or replaced: its key is moto's mapping UUID) starts at its starting position.
   * @default - every mapping starts at its starting position
   */
  readonly streamPositions?: ReadonlyMap<string, StreamPosition>;
}

/** Invocation counters of one function. */
export interface FunctionCounters {
  invocations: number;
  errors: number;
  /** Sum of invocation durations, for averages. */
  totalDurationMs: number;
}

/** `invoke` named a function the runtime does not run. */
export class FunctionNotFoundError extends Error {
  constructor(name: string, known: string[]) {
    super(`no local function named ${name}; known: ${known.join(', ') || '(none)'}`);
    this.name = 'FunctionNotFoundError';
  }
}

/** start() was called twice, or invoke() before start(). */
export class RuntimeStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeStateError';
  }
}

/** Milliseconds between runs of a `rate(...)` expression, or undefined for anything else. */
export function rateToMs(expression: string): number | undefined {
  const match = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression.trim());
  if (match === null) return undefined;
  const unit = match[2]!.startsWith('minute') ? 60_000 : match[2]!.startsWith('hour') ? 3_600_000 : 86_400_000;
  return Number(match[1]) * unit;
}

/**
 * Rewrites SQS queue URLs of the real AWS form (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, which is
 * what moto returns as a queue's physical id and so what a `Ref` in an environment resolves to) to the
 * local endpoint. The SDK's SQS client sends a request to its QueueUrl's host when that differs from the
 * configured endpoint (useQueueUrlAsEndpoint), so an unchanged URL would leave the local cloud.
 */
export function localizeQueueUrls(env: Readonly<Record<string, string>>, endpoint: string): Record<string, string> {
  const out: Record<string, string> = {};
  const base = endpoint.replace(/\/+$/, '');
  for (const [key, value] of Object.entries(env)) {
    const match = /^https?:\/\/(?:sqs\.[a-z0-9-]+|queue)\.amazonaws\.com(?:\.cn)?\/(\d{12})\/([^/?#]+)$/.exec(value);
    if (match !== null) out[key] = `${base}/${match[1]}/${match[2]}`;
  }
  return out;
}

/** Runs the functions of deployed stacks against the local cloud. */
export class LocalRuntime {
  /** Where records wait between their event source and the function, hop by hop, per function. */
  readonly hops = new HopRecorder();
  private readonly log: (line: string) => void;
  private readonly pools = new Map<string, FunctionPool>();
  private readonly fnInfos: FunctionInfo[] = [];
  private readonly mappingInfos: MappingInfo[] = [];
  private readonly scheduleInfos: ScheduleInfo[] = [];
  private readonly asyncInvokeInfos: AsyncInvokeInfo[] = [];
  private readonly notificationInfos: BucketNotificationInfo[] = [];
  private readonly versioningInfos: BucketVersioningInfo[] = [];
  private readonly skippedItems: string[] = [];
  private readonly pollers: Poller[] = [];
  private readonly streamPollers = new Map<string, DynamoDbStreamPoller>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly counters = new Map<string, FunctionCounters>();
  private readonly clientCache = new Map<string, unknown>();
  private readonly background = new Set<Promise<unknown>>();
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private localAlarms: LocalAlarms | undefined;

  constructor(private readonly opts: LocalRuntimeOptions) {
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * Discovers functions, mappings, schedules and bucket settings of every stack, applies the bucket settings
   * moto skipped, then starts pollers and schedules.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new RuntimeStateError(`start() called on a ${this.state} runtime`);
    this.state = 'starting';
    const control = this.opts.controlEndpoint ?? this.opts.endpoint;
    const discoveries = await Promise.all(
      this.opts.stacks.map((stack) =>
        discoverStack(
          { ...stack, templatePath: resolve(this.opts.assemblyDir, stack.templatePath) },
          {
            cloudFormation: this.client(CloudFormationClient, stack.region, control, stack.account),
            lambda: this.client(LambdaClient, stack.region, control, stack.account),
            dynamodb: this.client(DynamoDBClient, stack.region, control, stack.account),
          },
        ),
      ),
    );
    for (const d of discoveries) {
      this.fnInfos.push(...d.functions);
      this.mappingInfos.push(...d.mappings);
      this.scheduleInfos.push(...d.schedules);
      this.asyncInvokeInfos.push(...d.asyncInvokes);
      this.notificationInfos.push(...d.bucketNotifications);
      this.versioningInfos.push(...d.bucketVersioning);
      this.skippedItems.push(...d.skipped);
    }
    for (const line of this.skippedItems) this.log(`[runtime] not run locally: ${line}`);
    await this.applyBucketSettings(control);
    this.localAlarms = await startLocalAlarms({
      stacks: this.opts.stacks.map((s) => ({ ...s, templatePath: resolve(this.opts.assemblyDir, s.templatePath) })),
      clients: (region, account) => ({
        cloudFormation: this.client(CloudFormationClient, region, control, account),
        lambda: this.client(LambdaClient, region, control, account),
        dynamodb: this.client(DynamoDBClient, region, control, account),
      }),
      cloudWatch: (region) => this.client(CloudWatchClient, region, control),
      intervalMs: this.opts.alarmIntervalMs,
      log: this.log,
      // What CloudWatch does on a state change: publish the alarm's JSON to each topic of its actions.
      notify: async (n) => {
        for (const topicArn of n.topicArns) {
          const region = topicArn.split(':')[3] ?? n.alarm.region;
          await this.client(SNSClient, region, control).send(
            new PublishCommand({ TopicArn: topicArn, Subject: n.subject, Message: n.message }),
          );
        }
      },
      onError: (line) => this.skip(line),
    });
    for (const fn of this.fnInfos) {
      this.counters.set(fn.functionName, { invocations: 0, errors: 0, totalDurationMs: 0 });
      this.pools.set(
        fn.functionName,
        new FunctionPool(fn, {
          endpoint: this.opts.endpoint,
          maxWorkers: this.opts.maxWorkersPerFunction,
          environmentOverrides: localizeQueueUrls(fn.environment, this.opts.endpoint),
          onOutput: (line) => this.onOutput(fn, line),
        }),
      );
    }
    this.state = 'running';
    if (this.mappingInfos.some((m) => m.kind !== 'unsupported') && !(await this.motoIsDetached(control))) {
      this.log(
        '[runtime] WARNING: this moto_server was not started by startMoto(): moto then "invokes" mapped ' +
          'functions itself on every write (and fails without Docker), which empties DynamoDB streams before ' +
          'they can be polled and bumps SQS receive counts. Start moto with startMoto() (or `replicator local` ' +
          'without --endpoint).',
      );
    }
    for (const mapping of this.mappingInfos) this.startMapping(mapping);
    for (const schedule of this.scheduleInfos) this.startSchedule(schedule);
    this.log(
      `[runtime] running ${this.fnInfos.length} function(s), ${this.pollers.length} mapping poller(s), ` +
        `${this.timers.length} schedule(s)`,
    );
  }

  /**
   * Where each stream mapping stands (by moto's mapping UUID), for a runtime that takes over once this one has
   * stopped (`streamPositions`).
   */
  streamPositions(): Map<string, StreamPosition> {
    return new Map([...this.streamPollers].map(([key, poller]) => [key, poller.position()]));
  }

  /** Stops pollers and schedules, lets running invocations finish (up to stopGraceMs), ends workers. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    const grace = this.opts.stopGraceMs ?? 10_000;
    for (const timer of this.timers) clearInterval(timer);
    await this.localAlarms?.stop();
    await Promise.all(this.pollers.map((p) => p.stop(grace)));
    await Promise.race([Promise.allSettled([...this.background]), new Promise((r) => setTimeout(r, grace))]);
    await Promise.all([...this.pools.values()].map((pool) => pool.stop(grace)));
    for (const client of this.clientCache.values()) (client as { destroy(): void }).destroy();
  }

  /**
   * Invokes a function with `event` (like Lambda's RequestResponse Invoke) and returns its result or
   * error. `name` is the physical function name, its ARN, its logical id, or its construct path (e.g.
   * `MyStack/MyFunction`).
   * @throws FunctionNotFoundError for an unknown name
   */
  async invoke(name: string, event: unknown): Promise<InvocationOutcome> {
    if (this.state !== 'running') throw new RuntimeStateError(`invoke() on a ${this.state} runtime`);
    return this.invokeFunction(this.findFunction(name), event);
  }

  /**
   * Invokes a function asynchronously, as EventBridge schedules do: Lambda's retries of a failed invocation
   * (the function's EventInvokeConfig, else 2), spaced by `asyncRetryDelaysMs`, then a record of the failure
   * to its on-failure destination when it has one. Resolves with the last outcome.
   */
  async invokeAsync(name: string, event: unknown): Promise<InvocationOutcome> {
    if (this.state !== 'running') throw new RuntimeStateError(`invokeAsync() on a ${this.state} runtime`);
    return this.invokeAsyncFunction(this.findFunction(name), event);
  }

  /** The functions the runtime runs. */
  functions(): FunctionInfo[] {
    return [...this.fnInfos];
  }

  /** The event source mappings (polled or not: see `kind` and `enabled`). */
  mappings(): MappingInfo[] {
    return [...this.mappingInfos];
  }

  /** The schedules found (rules and EventBridge Scheduler schedules). */
  schedules(): ScheduleInfo[] {
    return [...this.scheduleInfos];
  }

  /** Bucket notification configurations found (Custom::S3BucketNotifications), applied by start() unless skipped(). */
  bucketNotifications(): BucketNotificationInfo[] {
    return [...this.notificationInfos];
  }

  /** Bucket versioning found on created buckets, applied by start() unless skipped(). */
  bucketVersioning(): BucketVersioningInfo[] {
    return [...this.versioningInfos];
  }

  /** The templates' CloudWatch alarms, created in the local cloud by start() and evaluated while running. */
  alarms(): AlarmInfo[] {
    return this.localAlarms?.alarms() ?? [];
  }

  /** What was found but cannot run (or be applied) locally, one line each. */
  skipped(): string[] {
    return [...this.skippedItems];
  }

  /** Invocations and errors per physical function name. */
  stats(): Record<string, FunctionCounters> {
    return Object.fromEntries([...this.counters].map(([name, c]) => [name, { ...c }]));
  }

  /** Total invocations and errors of all functions. */
  totals(): { invocations: number; errors: number } {
    let invocations = 0;
    let errors = 0;
    for (const c of this.counters.values()) {
      invocations += c.invocations;
      errors += c.errors;
    }
    return { invocations, errors };
  }

  /**
   * Applies what moto skipped of the templates' buckets: versioning first (so the first events already see
   * versions), then notification configurations. A failure is logged and listed in skipped(), not thrown.
   */
  private async applyBucketSettings(endpoint: string): Promise<void> {
    for (const v of this.versioningInfos) {
      const where = `${v.stackName}/${v.logicalId}`;
      try {
        await applyBucketVersioning(this.s3(v.region, endpoint, this.accountOf(v.stackName)), v);
        this.log(`[runtime] bucket ${v.bucketName} (${where}): versioning ${v.status}`);
      } catch (err) {
        this.skip(`${where}: versioning of bucket ${v.bucketName} not applied (${(err as Error).message})`);
      }
    }
    for (const n of this.notificationInfos) {
      const where = `${n.stackName}/${n.logicalId}`;
      try {
        const applied = await applyBucketNotifications(this.s3(n.region, endpoint, this.accountOf(n.stackName)), n);
        this.log(
          `[runtime] bucket ${n.bucketName} (${where}): notifications ${describeNotificationConfiguration(applied)}`,
        );
      } catch (err) {
        this.skip(`${where}: notifications of bucket ${n.bucketName} not applied (${(err as Error).message})`);
      }
    }
  }

  private skip(line: string): void {
    this.skippedItems.push(line);
    this.log(`[runtime] not run locally: ${line}`);
  }

  /** An S3 client of the region: path-style addressing, as `bucket.localhost` does not resolve. */
  private s3(region: string, endpoint: string, account?: string): S3Client {
    const key = `S3Client|${region}|${endpoint}|${account ?? ''}`;
    let client = this.clientCache.get(key) as S3Client | undefined;
    if (client === undefined) {
      client = motoS3Client(endpoint, region, account);
      this.clientCache.set(key, client);
    }
    return client;
  }

  /** The account of a deployed stack (moto's default unless the stack names another). */
  private accountOf(stackName: string): string | undefined {
    return this.opts.stacks.find((s) => s.stackName === stackName)?.account;
  }

  private async motoIsDetached(endpoint: string): Promise<boolean> {
    try {
      return await motoDetachesEventSourceMappings(endpoint);
    } catch (err) {
      this.log(`[runtime] could not read /moto-api/config: ${(err as Error).message}`);
      return false;
    }
  }

  private findFunction(name: string): FunctionInfo {
    const byName = functionNameFromRef(name);
    const matches = this.fnInfos.filter(
      (f) =>
        f.functionName === byName ||
        f.logicalId === name ||
        `${f.stackName}/${f.logicalId}` === name ||
        f.constructPath === name,
    );
    if (matches.length !== 1) {
      throw new FunctionNotFoundError(
        name,
        this.fnInfos.map((f) => f.constructPath ?? f.functionName),
      );
    }
    return matches[0]!;
  }

  private async invokeAsyncFunction(fn: FunctionInfo, event: unknown): Promise<InvocationOutcome> {
    const config = this.asyncInvokeInfos.find((c) => c.functionName === fn.functionName);
    const retries = config?.maximumRetryAttempts ?? 2;
    const delays = this.opts.asyncRetryDelaysMs ?? [60_000, 120_000];
    let outcome = await this.invokeFunction(fn, event);
    for (let retry = 1; !outcome.ok && retry <= retries && this.state === 'running'; retry += 1) {
      await new Promise((r) => setTimeout(r, delays[Math.min(retry, delays.length) - 1] ?? 0));
      outcome = await this.invokeFunction(fn, event);
    }
    if (!outcome.ok && config?.onFailureDestination?.startsWith('arn:aws:sqs:')) {
      const destination = config.onFailureDestination;
      const region = destination.split(':')[3] ?? fn.region;
      const sqs = this.client(SQSClient, region, this.opts.endpoint);
      const queueUrl = await queueUrlOf((r) => this.client(SQSClient, r, this.opts.endpoint), destination);
      // The record Lambda sends to an on-failure destination of an asynchronous invocation.
      const record = {
        version: '1.0',
        timestamp: new Date().toISOString(),
        requestContext: {
          requestId: randomUUID(),
          functionArn: `${fn.functionArn}:$LATEST`,
          condition: 'RetriesExhausted',
          approximateInvokeCount: retries + 1,
        },
        requestPayload: event,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: outcome.error,
      };
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record) }));
      this.log(
        `[${fn.functionName}] asynchronous invocation failed ${retries + 1} time(s): record sent to ${destination}`,
      );
    }
    return outcome;
  }

  private async invokeFunction(fn: FunctionInfo, event: unknown): Promise<InvocationOutcome> {
    const pool = this.pools.get(fn.functionName)!;
    const counters = this.counters.get(fn.functionName)!;
    counters.invocations += 1;
    const outcome = await pool.invoke(event);
    counters.totalDurationMs += outcome.durationMs;
    if (!outcome.ok) counters.errors += 1;
    return outcome;
  }

  private startMapping(mapping: MappingInfo): void {
    const where = `${mapping.stackName}/${mapping.logicalId}`;
    if (!mapping.enabled) {
      this.log(`[runtime] mapping ${where} is disabled`);
      return;
    }
    const fn = this.fnInfos.find((f) => f.functionName === mapping.functionName && f.region === mapping.region);
    if (fn === undefined) {
      this.log(`[runtime] mapping ${where}: function ${mapping.functionName} is not run locally`);
      return;
    }
    if (mapping.parallelizationFactor > 1) {
      this.log(
        `[runtime] mapping ${where}: ParallelizationFactor ${mapping.parallelizationFactor} ignored (one batch per shard at a time)`,
      );
    }
    if (mapping.tumblingWindowSeconds !== undefined) {
      this.log(`[runtime] mapping ${where}: TumblingWindowInSeconds is not supported locally`);
    }
    const deps = {
      mapping,
      fn,
      invoke: (event: unknown) => this.invokeFunction(fn, event),
      sqs: (region: string) => this.client(SQSClient, region, this.opts.endpoint),
      log: this.log,
      hops: this.hops,
    };
    let poller: Poller;
    if (mapping.kind === 'dynamodb') {
      const key = mappingKey(mapping);
      const stream = new DynamoDbStreamPoller(
        deps,
        this.client(DynamoDBStreamsClient, mapping.region, this.opts.endpoint),
        this.opts.streamPositions?.get(key),
      );
      this.streamPollers.set(key, stream);
      poller = stream;
    } else if (mapping.kind === 'sqs') {
      poller = new SqsPoller(deps, this.opts.sqsWorkersPerMapping ?? 2);
    } else {
      this.log(`[runtime] mapping ${where}: source ${mapping.eventSourceArn} is not supported locally`);
      return;
    }
    this.pollers.push(poller);
    poller.start();
  }

  private startSchedule(schedule: ScheduleInfo): void {
    const where = `${schedule.stackName}/${schedule.logicalId}`;
    if (!schedule.enabled) return;
    const every = rateToMs(schedule.expression);
    if (every === undefined) {
      this.log(
        `[runtime] schedule ${where}: ${schedule.expression} is not supported locally (only rate(...)); use invoke()`,
      );
      return;
    }
    const fire = (): void => {
      for (const target of schedule.targets) {
        const fn = this.fnInfos.find((f) => f.functionName === target.functionName);
        if (fn === undefined) continue;
        const event = target.input ?? this.scheduledEvent(schedule);
        const run = this.invokeAsyncFunction(fn, event).then(
          (outcome) => {
            if (!outcome.ok)
              this.log(
                `[${fn.functionName}] scheduled run failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`,
              );
          },
          (err: Error) => this.log(`[${fn.functionName}] scheduled run not started: ${err.message}`),
        );
        this.track(run);
      }
    };
    this.timers.push(setInterval(fire, every));
  }

  /** The event EventBridge sends for a scheduled rule (EventBridge Scheduler sends `{}` without Input). */
  private scheduledEvent(schedule: ScheduleInfo): unknown {
    if (schedule.arn.startsWith('arn:aws:scheduler:')) return {};
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: LOCAL_ACCOUNT,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: schedule.region,
      resources: [schedule.arn],
      detail: {},
    };
  }

  private onOutput(fn: FunctionInfo, line: string): void {
    const emf = parseEmfLine(line);
    if (emf === undefined) {
      this.log(`[${fn.functionName}] ${line}`);
      return;
    }
    const control = this.opts.controlEndpoint ?? this.opts.endpoint;
    const put = putEmfMetrics(this.client(CloudWatchClient, fn.region, control), emf).then(
      () => this.opts.onMetrics?.(emf, fn),
      (err: Error) => this.log(`[${fn.functionName}] EMF PutMetricData failed: ${err.message}`),
    );
    this.track(put);
  }

  /** Keeps a background promise until it settles (stop() waits for them); logs if it rejects. */
  private track(promise: Promise<unknown>): void {
    const tracked: Promise<unknown> = promise.then(
      () => this.background.delete(tracked),
      (err: Error) => {
        this.background.delete(tracked);
        this.log(`[runtime] background task failed: ${err.message}`);
      },
    );
    this.background.add(tracked);
  }

  private client<T>(
    Ctor: new (config: {
      region: string;
      endpoint: string;
      credentials: { accessKeyId: string; secretAccessKey: string };
    }) => T,
    region: string,
    endpoint: string,
    account?: string,
  ): T {
    const key = `${Ctor.name}|${region}|${endpoint}|${account ?? ''}`;
    let client = this.clientCache.get(key) as T | undefined;
    if (client === undefined) {
      client = inMotoAccount(
        new Ctor({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
        account,
      );
      this.clientCache.set(key, client);
    }
    return client;
  }
}

/** A mapping's identity across deploys: moto's UUID (a replaced mapping gets a new one), else its place. */
function mappingKey(m: MappingInfo): string {
  return m.uuid ?? `${m.stackName}/${m.logicalId}`;
}
