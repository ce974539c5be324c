/**
 * What the local runtime runs, discovered from the synthesized templates and from what moto holds:
 * functions (bundle folder, handler, environment), event source mappings and schedules, plus the S3 bucket
 * settings that moto skips when it creates a stack (notification configurations, versioning).
 *
 * moto resolves intrinsic functions when it creates resources (a function's environment comes back from
 * GetFunctionConfiguration with physical names, a mapping from GetEventSourceMapping with real ARNs); the
 * {@link TemplateResolver} covers what moto does not hold (schedules, AWS::Scheduler::Schedule, which moto
 * skips) or a value it did not resolve.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type CloudFormationClient,
  ListExportsCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type EventSourceMappingConfiguration,
  type FunctionConfiguration,
  GetEventSourceMappingCommand,
  GetFunctionConfigurationCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { LOCAL_ACCOUNT } from './moto';

/** A deployed stack the runtime serves (see `DeployedStack` of deploy.ts). */
export interface RuntimeStack {
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** Region of the stack. */
  readonly region: string;
  /** Absolute path of the synthesized template. */
  readonly templatePath: string;
  /** Account of the stack. @default LOCAL_ACCOUNT */
  readonly account?: string;
}

/** A Lambda function the runtime can run. */
export interface FunctionInfo {
  readonly stackName: string;
  readonly region: string;
  /** Logical id in the template. */
  readonly logicalId: string;
  /** Construct path without the trailing `/Resource` (e.g. `MyStack/MyFunction`), when CDK recorded it. */
  readonly constructPath: string | undefined;
  /** Physical function name (what `invoke` and mappings use). */
  readonly functionName: string;
  readonly functionArn: string;
  /** `file.export`, e.g. `index.handler`. */
  readonly handler: string;
  /** e.g. `nodejs22.x`. */
  readonly runtime: string;
  /** Absolute folder of the bundled asset (`aws:asset:path` next to the template). */
  readonly bundleDir: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The function's environment variables, resolved. */
  readonly environment: Readonly<Record<string, string>>;
}

/** Kinds of event source the runtime polls. */
export type EventSourceKind = 'dynamodb' | 'sqs' | 'unsupported';

/** An event source mapping, resolved. Defaults are Lambda's. */
export interface MappingInfo {
  readonly stackName: string;
  readonly region: string;
  readonly logicalId: string;
  /** moto's mapping UUID (the physical id). */
  readonly uuid: string | undefined;
  readonly kind: EventSourceKind;
  readonly eventSourceArn: string;
  /** Physical name of the target function. */
  readonly functionName: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  /** Streams only: TRIM_HORIZON, LATEST or AT_TIMESTAMP. */
  readonly startingPosition: string | undefined;
  /** Streams only, with AT_TIMESTAMP: epoch seconds. */
  readonly startingPositionTimestamp: number | undefined;
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: retry until the record expires (Lambda's default). */
  readonly maximumRetryAttempts: number;
  /** -1: no limit (Lambda's default). */
  readonly maximumRecordAgeSeconds: number;
  /** ARN of the on-failure destination (streams), if any. */
  readonly onFailureDestination: string | undefined;
  readonly enabled: boolean;
  /** Parsed FilterCriteria patterns; a record passes if any matches (none: all pass). */
  readonly filterPatterns: unknown[];
  /** ScalingConfig.MaximumConcurrency (SQS), if set. */
  readonly maximumConcurrency: number | undefined;
  readonly parallelizationFactor: number;
  readonly tumblingWindowSeconds: number | undefined;
}

/** A function invoked on a schedule (AWS::Events::Rule or AWS::Scheduler::Schedule). */
export interface ScheduleInfo {
  readonly stackName: string;
  readonly region: string;
  readonly logicalId: string;
  /** Rule or schedule name (physical id where moto has one). */
  readonly name: string;
  readonly arn: string;
  /** `rate(...)`, `cron(...)` or `at(...)`. */
  readonly expression: string;
  readonly enabled: boolean;
  readonly targets: { readonly functionName: string; readonly input: unknown }[];
}

/**
 * The notification configuration of a bucket, from a `Custom::S3BucketNotifications` resource (which CDK's
 * `bucket.addEventNotification` makes and moto marks complete without running), resolved.
 */
export interface BucketNotificationInfo {
  readonly stackName: string;
  readonly region: string;
  /** Logical id of the Custom::S3BucketNotifications resource. */
  readonly logicalId: string;
  readonly bucketName: string;
  /**
   * The S3 API's NotificationConfiguration (QueueConfigurations, TopicConfigurations,
   * LambdaFunctionConfigurations, EventBridgeConfiguration), with every intrinsic resolved.
   */
  readonly configuration: Record<string, unknown>;
  /**
   * Whether the stack owns the bucket's whole configuration (a bucket it created); false for an imported
   * bucket, whose configurations the stack did not make are kept.
   */
  readonly managed: boolean;
}

/** Versioning of a bucket the stack creates (`VersioningConfiguration`, which moto ignores in templates). */
export interface BucketVersioningInfo {
  readonly stackName: string;
  readonly region: string;
  /** Logical id of the AWS::S3::Bucket. */
  readonly logicalId: string;
  readonly bucketName: string;
  readonly status: 'Enabled' | 'Suspended';
}

/**
 * How Lambda handles a function's asynchronous invocations (schedules): retries of a failed invocation and
 * where a record of one that still fails goes. From AWS::Lambda::EventInvokeConfig; Lambda's defaults
 * (2 retries, no destination) for a function without one.
 */
export interface AsyncInvokeInfo {
  readonly functionName: string;
  readonly maximumRetryAttempts: number;
  /** ARN of the on-failure destination (an SQS queue is what the runtime delivers to). */
  readonly onFailureDestination: string | undefined;
}

/** Everything discovered in one stack. */
export interface StackDiscovery {
  readonly functions: FunctionInfo[];
  readonly mappings: MappingInfo[];
  readonly schedules: ScheduleInfo[];
  /** Asynchronous invocation settings of functions that have them. */
  readonly asyncInvokes: AsyncInvokeInfo[];
  /** Bucket notification configurations to apply (moto skips Custom::S3BucketNotifications). */
  readonly bucketNotifications: BucketNotificationInfo[];
  /** Bucket versioning to apply (moto skips VersioningConfiguration). */
  readonly bucketVersioning: BucketVersioningInfo[];
  /** Things found but not runnable locally, one line each. */
  readonly skipped: string[];
}

/** A template value the resolver cannot compute from the template and the local cloud. */
export class UnresolvableValueError extends Error {
  constructor(
    readonly stackName: string,
    readonly detail: string,
  ) {
    super(`cannot resolve ${detail} in stack ${stackName}`);
    this.name = 'UnresolvableValueError';
  }
}

/** A deployed event source mapping that Lambda would have refused (moto accepts it). */
export class InvalidMappingError extends Error {
  constructor(
    readonly stackName: string,
    readonly detail: string,
  ) {
    super(`stack ${stackName} would not deploy on AWS: ${detail}`);
    this.name = 'InvalidMappingError';
  }
}

/** The SDK clients discovery needs, all for the stack's region and the local endpoint. */
export interface DiscoveryClients {
  readonly cloudFormation: CloudFormationClient;
  readonly lambda: LambdaClient;
  readonly dynamodb: DynamoDBClient;
}

/** CloudFormation template shape, as far as the runtime reads it. */
export interface Template {
  Resources?: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> } | undefined
  >;
  Parameters?: Record<string, { Default?: unknown } | undefined>;
}

/** Reads a stack's template, its resources in the local cloud, and what the runtime should run. */
export async function discoverStack(stack: RuntimeStack, clients: DiscoveryClients): Promise<StackDiscovery> {
  const template = JSON.parse(readFileSync(stack.templatePath, 'utf8')) as Template;
  const physical = await listStackResources(clients.cloudFormation, stack.stackName);
  const resolver = new TemplateResolver(stack, template, physical, clients);
  const skipped: string[] = [];
  const functions: FunctionInfo[] = [];
  const resources = Object.entries(template.Resources ?? {});

  for (const [logicalId, resource] of resources) {
    if (resource?.Type !== 'AWS::Lambda::Function') continue;
    const fn = await discoverFunction(stack, logicalId, resource, resolver, clients, skipped);
    if (fn !== undefined) functions.push(fn);
  }
  const mappings: MappingInfo[] = [];
  for (const [logicalId, resource] of resources) {
    if (resource?.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    mappings.push(await discoverMapping(stack, logicalId, resource.Properties ?? {}, resolver, clients));
  }
  const schedules: ScheduleInfo[] = [];
  for (const [logicalId, resource] of resources) {
    if (resource?.Type === 'AWS::Events::Rule' && resource.Properties?.ScheduleExpression !== undefined) {
      schedules.push(await discoverRule(stack, logicalId, resource.Properties, resolver, skipped));
    } else if (resource?.Type === 'AWS::Scheduler::Schedule') {
      schedules.push(await discoverSchedulerSchedule(stack, logicalId, resource.Properties ?? {}, resolver, skipped));
    }
  }
  const asyncInvokes: AsyncInvokeInfo[] = [];
  for (const [logicalId, resource] of resources) {
    if (resource?.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
    const props = resource.Properties ?? {};
    try {
      const fnRef = String(await resolver.resolve(props.FunctionName));
      const destination = await resolver.resolveOptional(
        (props.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination,
      );
      asyncInvokes.push({
        functionName: functionNameFromRef(fnRef),
        maximumRetryAttempts: Number(props.MaximumRetryAttempts ?? 2),
        onFailureDestination: destination === undefined ? undefined : String(destination),
      });
    } catch (err) {
      if (!(err instanceof UnresolvableValueError)) throw err;
      skipped.push(`${stack.stackName}/${logicalId} (AWS::Lambda::EventInvokeConfig): ${err.message}`);
    }
  }
  const bucketNotifications: BucketNotificationInfo[] = [];
  const bucketVersioning: BucketVersioningInfo[] = [];
  for (const [logicalId, resource] of resources) {
    const where = `${stack.stackName}/${logicalId}`;
    try {
      if (resource?.Type === 'Custom::S3BucketNotifications') {
        bucketNotifications.push(
          await discoverBucketNotifications(stack, logicalId, resource.Properties ?? {}, resolver),
        );
      } else if (resource?.Type === 'AWS::S3::Bucket') {
        const versioning = await discoverBucketVersioning(stack, logicalId, resource.Properties ?? {}, resolver);
        if (versioning !== undefined) bucketVersioning.push(versioning);
      }
    } catch (err) {
      if (!(err instanceof UnresolvableValueError)) throw err;
      skipped.push(`${where} (${resource?.Type}): ${err.message}`);
    }
  }
  return { functions, mappings, schedules, asyncInvokes, bucketNotifications, bucketVersioning, skipped };
}

async function discoverBucketNotifications(
  stack: RuntimeStack,
  logicalId: string,
  props: Record<string, unknown>,
  resolver: TemplateResolver,
): Promise<BucketNotificationInfo> {
  const configuration = (await resolver.resolveOptional(props.NotificationConfiguration)) ?? {};
  // CloudFormation hands custom resources every property as a string, so `Managed` may be "false" as well.
  const managed = String((await resolver.resolveOptional(props.Managed)) ?? 'true').toLowerCase() !== 'false';
  return {
    stackName: stack.stackName,
    region: stack.region,
    logicalId,
    bucketName: String(await resolver.resolve(props.BucketName)),
    configuration: configuration as Record<string, unknown>,
    managed,
  };
}

async function discoverBucketVersioning(
  stack: RuntimeStack,
  logicalId: string,
  props: Record<string, unknown>,
  resolver: TemplateResolver,
): Promise<BucketVersioningInfo | undefined> {
  const versioning = (await resolver.resolveOptional(props.VersioningConfiguration)) as { Status?: string } | undefined;
  if (versioning?.Status !== 'Enabled' && versioning?.Status !== 'Suspended') return undefined;
  const bucketName = resolver.physicalId(logicalId);
  if (bucketName === undefined) throw new UnresolvableValueError(stack.stackName, `bucket ${logicalId} (not created)`);
  return { stackName: stack.stackName, region: stack.region, logicalId, bucketName, status: versioning.Status };
}

async function discoverFunction(
  stack: RuntimeStack,
  logicalId: string,
  resource: { Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> },
  resolver: TemplateResolver,
  clients: DiscoveryClients,
  skipped: string[],
): Promise<FunctionInfo | undefined> {
  const props = resource.Properties ?? {};
  const assetPath = resource.Metadata?.['aws:asset:path'];
  const functionName = resolver.physicalId(logicalId);
  if (functionName === undefined) {
    skipped.push(`${stack.stackName}/${logicalId}: function not found in the local cloud`);
    return undefined;
  }
  if (String(props.Description ?? '').includes('"Custom::S3BucketNotifications"')) {
    skipped.push(
      `${stack.stackName}/${logicalId} (${functionName}): CDK's Custom::S3BucketNotifications handler; the runtime applies the notification configurations itself`,
    );
    return undefined;
  }
  let config: FunctionConfiguration | undefined;
  try {
    config = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  } catch (err) {
    skipped.push(`${stack.stackName}/${logicalId}: GetFunctionConfiguration failed (${(err as Error).message})`);
  }
  const runtime = config?.Runtime ?? String(props.Runtime ?? '');
  if (typeof assetPath !== 'string') {
    skipped.push(`${stack.stackName}/${logicalId} (${functionName}): no aws:asset:path metadata (inline code)`);
    return undefined;
  }
  if (!runtime.startsWith('nodejs')) {
    skipped.push(`${stack.stackName}/${logicalId} (${functionName}): runtime ${runtime || '?'} is not Node.js`);
    return undefined;
  }
  // moto resolves Ref/GetAtt in the environment; the template is the fallback for anything it did not hold.
  const templateEnv = ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
    {}) as Record<string, unknown>;
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(templateEnv)) {
    const fromMoto = config?.Environment?.Variables?.[key];
    environment[key] =
      typeof fromMoto === 'string' && !looksUnresolved(fromMoto) ? fromMoto : String(await resolver.resolve(value));
  }
  for (const [key, value] of Object.entries(config?.Environment?.Variables ?? {})) environment[key] ??= value;
  const cdkPath = resource.Metadata?.['aws:cdk:path'];
  return {
    stackName: stack.stackName,
    region: stack.region,
    logicalId,
    constructPath: typeof cdkPath === 'string' ? cdkPath.replace(/\/Resource$/, '') : undefined,
    functionName,
    functionArn: config?.FunctionArn ?? lambdaArn(stack.region, functionName),
    handler: config?.Handler ?? String(props.Handler ?? 'index.handler'),
    runtime,
    bundleDir: join(dirname(stack.templatePath), assetPath),
    timeoutSeconds: config?.Timeout ?? Number(props.Timeout ?? 3),
    memoryMb: config?.MemorySize ?? Number(props.MemorySize ?? 128),
    environment,
  };
}

async function discoverMapping(
  stack: RuntimeStack,
  logicalId: string,
  props: Record<string, unknown>,
  resolver: TemplateResolver,
  clients: DiscoveryClients,
): Promise<MappingInfo> {
  const uuid = resolver.physicalId(logicalId);
  let fromMoto: EventSourceMappingConfiguration | undefined;
  if (uuid !== undefined) {
    fromMoto = await clients.lambda.send(new GetEventSourceMappingCommand({ UUID: uuid })).catch(() => undefined);
  }
  const eventSourceArn = fromMoto?.EventSourceArn ?? String(await resolver.resolve(props.EventSourceArn));
  const functionRef = fromMoto?.FunctionArn ?? String(await resolver.resolve(props.FunctionName));
  const kind: EventSourceKind = eventSourceArn.startsWith('arn:aws:sqs:')
    ? 'sqs'
    : /^arn:aws:dynamodb:[^:]*:[^:]*:table\/[^/]+\/stream\//.test(eventSourceArn)
      ? 'dynamodb'
      : 'unsupported';
  const destination =
    fromMoto?.DestinationConfig?.OnFailure?.Destination ??
    (await resolver.resolveOptional(
      (props.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination,
    ));
  const filters = (props.FilterCriteria as { Filters?: { Pattern?: unknown }[] } | undefined)?.Filters ?? [];
  const filterPatterns: unknown[] = [];
  for (const filter of filters) {
    const pattern = await resolver.resolve(filter.Pattern);
    filterPatterns.push(typeof pattern === 'string' ? JSON.parse(pattern) : pattern);
  }
  const num = async (value: unknown, fallback: number): Promise<number> => {
    const resolved = await resolver.resolveOptional(value);
    return resolved === undefined ? fallback : Number(resolved);
  };
  const batchSize = await num(props.BatchSize, kind === 'sqs' ? 10 : 100);
  const maximumBatchingWindowSeconds = await num(props.MaximumBatchingWindowInSeconds, 0);
  // moto creates this mapping; Lambda does not (CreateEventSourceMapping answers InvalidParameterValueException),
  // so a stack that would fail to deploy on AWS does not run here either.
  if (kind === 'sqs' && batchSize > 10 && maximumBatchingWindowSeconds < 1) {
    throw new InvalidMappingError(
      stack.stackName,
      `${logicalId}: BatchSize ${batchSize} on an SQS queue needs MaximumBatchingWindowInSeconds of at least 1 (it is ${maximumBatchingWindowSeconds}); Lambda refuses it: "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"`,
    );
  }
  const responseTypes = ((await resolver.resolveOptional(props.FunctionResponseTypes)) ?? []) as string[];
  const scaling = props.ScalingConfig as { MaximumConcurrency?: unknown } | undefined;
  return {
    stackName: stack.stackName,
    region: stack.region,
    logicalId,
    uuid,
    kind,
    eventSourceArn,
    functionName: functionNameFromRef(functionRef),
    batchSize,
    maximumBatchingWindowSeconds,
    startingPosition: (await resolver.resolveOptional(props.StartingPosition)) as string | undefined,
    startingPositionTimestamp: (await resolver.resolveOptional(props.StartingPositionTimestamp)) as number | undefined,
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    bisectBatchOnFunctionError: (await resolver.resolveOptional(props.BisectBatchOnFunctionError)) === true,
    maximumRetryAttempts: await num(props.MaximumRetryAttempts, -1),
    maximumRecordAgeSeconds: await num(props.MaximumRecordAgeInSeconds, -1),
    onFailureDestination: destination === undefined ? undefined : String(destination),
    enabled: (await resolver.resolveOptional(props.Enabled)) !== false,
    filterPatterns,
    maximumConcurrency:
      scaling?.MaximumConcurrency === undefined ? undefined : await num(scaling.MaximumConcurrency, 1000),
    parallelizationFactor: await num(props.ParallelizationFactor, 1),
    tumblingWindowSeconds:
      props.TumblingWindowInSeconds === undefined ? undefined : await num(props.TumblingWindowInSeconds, 0),
  };
}

async function discoverRule(
  stack: RuntimeStack,
  logicalId: string,
  props: Record<string, unknown>,
  resolver: TemplateResolver,
  skipped: string[],
): Promise<ScheduleInfo> {
  const name = resolver.physicalId(logicalId) ?? String((await resolver.resolveOptional(props.Name)) ?? logicalId);
  const targets: { functionName: string; input: unknown }[] = [];
  for (const target of (props.Targets ?? []) as Record<string, unknown>[]) {
    const arn = String(await resolver.resolve(target.Arn));
    if (!arn.startsWith('arn:aws:lambda:')) {
      skipped.push(`${stack.stackName}/${logicalId}: schedule target ${arn} is not a Lambda function`);
      continue;
    }
    const input = await resolver.resolveOptional(target.Input);
    targets.push({ functionName: functionNameFromRef(arn), input: input === undefined ? undefined : parseJson(input) });
  }
  return {
    stackName: stack.stackName,
    region: stack.region,
    logicalId,
    name: name.includes('|') ? (name.split('|').pop() ?? name) : name,
    arn: `arn:aws:events:${stack.region}:${LOCAL_ACCOUNT}:rule/${name}`,
    expression: String(await resolver.resolve(props.ScheduleExpression)),
    enabled: (await resolver.resolveOptional(props.State)) !== 'DISABLED',
    targets,
  };
}

async function discoverSchedulerSchedule(
  stack: RuntimeStack,
  logicalId: string,
  props: Record<string, unknown>,
  resolver: TemplateResolver,
  skipped: string[],
): Promise<ScheduleInfo> {
  // moto skips AWS::Scheduler::Schedule in templates, so everything comes from the template.
  const name = String((await resolver.resolveOptional(props.Name)) ?? logicalId);
  const target = (props.Target ?? {}) as Record<string, unknown>;
  const arn = String(await resolver.resolve(target.Arn));
  const targets: { functionName: string; input: unknown }[] = [];
  if (arn.startsWith('arn:aws:lambda:')) {
    const input = await resolver.resolveOptional(target.Input);
    targets.push({ functionName: functionNameFromRef(arn), input: input === undefined ? undefined : parseJson(input) });
  } else {
    skipped.push(`${stack.stackName}/${logicalId}: schedule target ${arn} is not a Lambda function`);
  }
  return {
    stackName: stack.stackName,
    region: stack.region,
    logicalId,
    name,
    arn: `arn:aws:scheduler:${stack.region}:${LOCAL_ACCOUNT}:schedule/default/${name}`,
    expression: String(await resolver.resolve(props.ScheduleExpression)),
    enabled: (await resolver.resolveOptional(props.State)) !== 'DISABLED',
    targets,
  };
}

/** All resources of a stack in the local cloud, by logical id. */
export async function listStackResources(
  client: CloudFormationClient,
  stackName: string,
): Promise<Map<string, StackResourceSummary>> {
  const byLogicalId = new Map<string, StackResourceSummary>();
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: nextToken }));
    for (const summary of page.StackResourceSummaries ?? []) {
      if (summary.LogicalResourceId !== undefined) byLogicalId.set(summary.LogicalResourceId, summary);
    }
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return byLogicalId;
}

/**
 * Resolves CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split,
 * Fn::ImportValue, Fn::Base64) from the template, the stack's physical ids and the local cloud.
 */
export class TemplateResolver {
  constructor(
    private readonly stack: RuntimeStack,
    private readonly template: Template,
    private readonly physical: Map<string, StackResourceSummary>,
    private readonly clients: DiscoveryClients,
  ) {}

  /** Physical id of a logical resource, if the local cloud created it. */
  physicalId(logicalId: string): string | undefined {
    const id = this.physical.get(logicalId)?.PhysicalResourceId;
    return id === undefined || id === '' ? undefined : id;
  }

  /** Resolves a value; undefined stays undefined. */
  async resolveOptional(value: unknown): Promise<unknown> {
    return value === undefined ? undefined : this.resolve(value);
  }

  /**
   * Resolves a template value.
   * @throws UnresolvableValueError for intrinsics or attributes it does not know
   */
  async resolve(value: unknown): Promise<unknown> {
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.resolve(v)));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
      return this.intrinsic(key, arg);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = await this.resolve(v);
    return out;
  }

  private async intrinsic(key: string, arg: unknown): Promise<unknown> {
    switch (key) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
        return this.getAtt(String(logicalId), String(await this.resolve(attribute)));
      }
      case 'Fn::Join': {
        const [separator, list] = arg as [string, unknown[]];
        const parts = (await this.resolve(list)) as unknown[];
        return parts.join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = (await this.resolve(arg)) as [number | string, unknown[]];
        return list[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, source] = (await this.resolve(arg)) as [string, string];
        return source.split(separator);
      }
      case 'Fn::Base64':
        return Buffer.from(String(await this.resolve(arg))).toString('base64');
      case 'Fn::Sub':
        return this.sub(arg);
      case 'Fn::ImportValue':
        return this.importValue(String(await this.resolve(arg)));
      default:
        throw new UnresolvableValueError(this.stack.stackName, `${key} ${JSON.stringify(arg)}`);
    }
  }

  private ref(name: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.stack.region;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stack.stackName;
      case 'AWS::NoValue':
        return undefined;
    }
    const parameter = this.template.Parameters?.[name];
    if (parameter !== undefined) return parameter.Default;
    const id = this.physicalId(name);
    if (id === undefined) throw new UnresolvableValueError(this.stack.stackName, `Ref ${name}`);
    return id;
  }

  private async getAtt(logicalId: string, attribute: string): Promise<unknown> {
    const type = this.template.Resources?.[logicalId]?.Type;
    const id = this.physicalId(logicalId);
    const fail = (): never => {
      throw new UnresolvableValueError(this.stack.stackName, `Fn::GetAtt ${logicalId}.${attribute} (${type})`);
    };
    if (id === undefined) return fail();
    const region = this.stack.region;
    switch (`${type}.${attribute}`) {
      case 'AWS::SQS::Queue.Arn':
        return `arn:aws:sqs:${region}:${LOCAL_ACCOUNT}:${id.split('/').pop()}`;
      case 'AWS::SQS::Queue.QueueName':
        return id.split('/').pop();
      case 'AWS::SQS::Queue.QueueUrl':
        return id;
      case 'AWS::DynamoDB::Table.Arn':
        return `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT}:table/${id}`;
      case 'AWS::DynamoDB::Table.StreamArn': {
        const table = await this.clients.dynamodb.send(new DescribeTableCommand({ TableName: id }));
        return table.Table?.LatestStreamArn ?? fail();
      }
      case 'AWS::Lambda::Function.Arn':
        return lambdaArn(region, id);
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${id}`;
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${id}`;
      case 'AWS::S3::Bucket.DomainName':
        return `${id}.s3.amazonaws.com`;
      case 'AWS::S3::Bucket.RegionalDomainName':
        return `${id}.s3.${region}.amazonaws.com`;
      case 'AWS::SNS::Topic.TopicArn':
        return id;
      case 'AWS::SNS::Topic.TopicName':
        return id.split(':').pop();
      case 'AWS::Events::Rule.Arn':
        return `arn:aws:events:${region}:${LOCAL_ACCOUNT}:rule/${id}`;
      default:
        return fail();
    }
  }

  private async sub(arg: unknown): Promise<string> {
    const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(vars ?? {})) values[k] = await this.resolve(v);
    let out = '';
    let last = 0;
    for (const match of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
      const name = match[1]!;
      out += text.slice(last, match.index);
      last = (match.index ?? 0) + match[0].length;
      if (name in values) out += String(values[name]);
      else if (name.includes('.')) {
        const [logicalId, attribute] = name.split(/\.(.+)/) as [string, string];
        out += String(await this.getAtt(logicalId, attribute));
      } else out += String(this.ref(name));
    }
    return (out + text.slice(last)).replaceAll('${!', '${');
  }

  private async importValue(name: string): Promise<string> {
    let nextToken: string | undefined;
    do {
      const page = await this.clients.cloudFormation.send(new ListExportsCommand({ NextToken: nextToken }));
      const found = page.Exports?.find((e) => e.Name === name);
      if (found?.Value !== undefined) return found.Value;
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    throw new UnresolvableValueError(this.stack.stackName, `Fn::ImportValue ${name} (no such export)`);
  }
}

/** The function name in a function ARN or name (with or without a `:qualifier`). */
export function functionNameFromRef(ref: string): string {
  const match = /^arn:aws[^:]*:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(ref);
  return match?.[1] ?? ref.split(':')[0] ?? ref;
}

function lambdaArn(region: string, functionName: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${functionName}`;
}

/** A value that moto stored without resolving (it stringifies the intrinsic). */
function looksUnresolved(value: string): boolean {
  return /^\{['"](Ref|Fn::[A-Za-z]+)['"]\s*:/.test(value);
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (err) {
    if (err instanceof SyntaxError) return value;
    throw err;
  }
}
