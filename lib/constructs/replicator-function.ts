/**
 * A Replicator Lambda function: bundled TypeScript handler, current Node.js runtime, its own log group and
 * a role that may write only to that log group (grants for queues and tables are added by the caller).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type FunctionEnvironment, functionRoleName, METRICS_NAMESPACE } from '../../functions/contract';

/**
 * Root of the Replicator package (its package.json and functions/): this repository, or the installed package
 * in a team's own app (where this module runs from dist/lib/constructs).
 */
export const PROJECT_ROOT = packageRoot(__dirname);

function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'functions', 'engine'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Replicator package root above ${from}`);
  }
}

/**
 * The lock file the handlers are bundled against: this repository's, so the deployed code runs the versions
 * the tests ran; an installed package has none (npm does not ship it), and CDK then takes the app's own.
 */
const LOCK_FILE = path.join(PROJECT_ROOT, 'package-lock.json');

/** Runtime of every Replicator function: the newest Node.js that Lambda, cfn-lint and cdk-nag all accept. */
export const REPLICATOR_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * How every function's handler is bundled: what esbuild is told, shared with the bundle benchmark
 * (bench/bundles.ts), which bundles each handler with exactly these options and times its module init.
 */
export const REPLICATOR_BUNDLING: BundlingOptions = {
  minify: true,
  sourceMap: true,
  // Stack traces need only the mappings; the sources' text would be two thirds of each map, which Node reads
  // and parses at module load under --enable-source-maps.
  sourcesContent: false,
  target: 'node24',
  // The AWS SDK's ES module builds (dist-es) instead of its CommonJS ones: esbuild then drops the commands and
  // helpers a handler does not use (the CommonJS builds are one file per package, kept whole).
  mainFields: ['module', 'main'],
  // Bundle the AWS SDK too, so the deployed code runs the versions the tests ran (and the local runtime, which
  // runs these bundles, runs what Lambda runs); README "Bundles and cold start" has the figures.
  externalModules: [],
};

/** NODE_OPTIONS of every function: stack traces in the logs point at the TypeScript sources. */
export const REPLICATOR_NODE_OPTIONS = '--enable-source-maps';

/** Props of a {@link ReplicatorFunction}. */
export interface ReplicatorFunctionProps {
  /** Physical function name; the log group is `/aws/lambda/<functionName>`. */
  readonly functionName: string;
  /** Path of the TypeScript entry file that exports `handler`. */
  readonly entry: string;
  /** Powertools service name (POWERTOOLS_SERVICE_NAME), e.g. `replicator-capture`. */
  readonly serviceName: string;
  /** Replicator's own environment variables (`ENV` names of the contract); unset ones are left out. */
  readonly environment: FunctionEnvironment;
  /**
   * Memory of the function in MB.
   * @default - 512 MB
   */
  readonly memorySize?: number;
  /**
   * Maximum run time of one invocation.
   * @default - 60 seconds
   */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved for (and the most allowed to) the function.
   * @default - none reserved: the function scales with the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * How long the function's logs are kept.
   * @default - one month
   */
  readonly logRetention?: logs.RetentionDays;
}

/** A bundled Node.js function with an explicit log group and a least-privilege role. */
export class ReplicatorFunction extends Construct {
  /** The Lambda function. */
  readonly function: NodejsFunction;
  /** The function's log group. */
  readonly logGroup: logs.LogGroup;
  /** The function's execution role. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ReplicatorFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of the AWSLambdaBasicExecutionRole managed policy, which may write to any log group.
    // Named (functionRoleName) when the region is known, so a target account's role can trust it by name.
    const region = Stack.of(this).region;
    this.role = new iam.Role(this, 'Role', {
      ...(Token.isUnresolved(region) ? {} : { roleName: functionRoleName(props.functionName, region) }),
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.functionName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      entry: props.entry,
      handler: 'handler',
      runtime: REPLICATOR_RUNTIME,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      role: this.role,
      logGroup: this.logGroup,
      ...(existsSync(LOCK_FILE) ? { depsLockFilePath: LOCK_FILE, projectRoot: PROJECT_ROOT } : {}),
      environment: {
        ...definedEntries(props.environment),
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: REPLICATOR_NODE_OPTIONS,
      },
      bundling: {
        ...REPLICATOR_BUNDLING,
        // The locally installed esbuild bundles; these machines have no Docker.
        forceDockerBundling: false,
      },
    });
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        "Capture and apply/copy are invoked synchronously by event source mappings (failures go to the stream mapping's on-failure destination or the queue's redrive DLQ); the reconciler's asynchronous invocations have an on-failure destination, which supersedes a function DLQ.",
    });
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'X-Ray is off: per-hop lag is published as CloudWatch metrics (ReplicationLatency, DeliveryLatency, BacklogAge) on every change, and active tracing would add a paid trace per invocation.',
    });
  }

  /**
   * Acknowledges, on each SQS event source mapping of the function, that it has no on-failure destination:
   * Lambda offers none for SQS; a message that keeps failing goes to the queue's redrive DLQ.
   */
  acknowledgeSqsMappings(): void {
    for (const c of this.function.node.findAll()) {
      if (c instanceof lambda.EventSourceMapping && c.node.id.startsWith('SqsEventSource')) {
        Validations.of(c).acknowledge({
          id: 'Serverless-LambdaEventSourceMappingDestination',
          reason:
            "Lambda offers no on-failure destination for SQS sources: a message that keeps failing goes to the queue's redrive DLQ, whose depth is alarmed.",
        });
      }
    }
  }
}

/** The variables of `environment` that have a value (an optional one may be given as undefined). */
function definedEntries(environment: FunctionEnvironment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) if (value !== undefined) out[name] = value;
  return out;
}
