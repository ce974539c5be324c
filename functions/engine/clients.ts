/**
 * SDK clients per region (and per assumed role), built once per container and reused, and the reading of
 * the functions' environment (its names are the contract's).
 *
 * The SDK reads AWS_ENDPOINT_URL by itself, which is how the local runtime points handlers at moto. Every
 * client gives up on a request that gets no byte of an answer for the pair's `requestTimeout`
 * (REQUEST_TIMEOUT_SECONDS): without it a connection that hangs holds the invocation until Lambda ends it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { type ClientTarget, ENV, type EnvName } from '../contract';
import { withInvocationDeadline } from './deadline';

const dynamo = new Map<string, DynamoDBClient>();
let sqs: SQSClient | undefined;

/** The pair's request timeout when the environment does not say (a DynamoDB pair's default). */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;

/**
 * The HTTP handler options of every client: a connection must open, and an open request must receive data,
 * within the request timeout; either failure is a `TimeoutError`, which the SDK retries and Replicator's retry
 * policy treats as transient. An idle limit, not a total: a CopyObject that streams its answer slowly is fine.
 */
export function requestHandlerOptions(env: Env = process.env): { connectionTimeout: number; socketTimeout: number } {
  const seconds = numberEnv(ENV.REQUEST_TIMEOUT_SECONDS, DEFAULT_REQUEST_TIMEOUT_SECONDS, env);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(
      `environment variable ${ENV.REQUEST_TIMEOUT_SECONDS} must be a positive number of seconds (given "${env[ENV.REQUEST_TIMEOUT_SECONDS]}")`,
    );
  }
  const ms = seconds * 1000;
  return { connectionTimeout: Math.min(ms, 5000), socketTimeout: ms };
}

/** How {@link roleCredentials} assumes a role for a caller other than a function (the CLI). */
type AssumeOptions = Pick<Parameters<typeof fromTemporaryCredentials>[0], 'masterCredentials' | 'clientConfig'> & {
  readonly sessionName?: string;
};

/**
 * Credentials of the target's role (assumed with its external id), or undefined for the caller's own. A function
 * assumes it with its own credentials through STS in its region; the CLI passes its credentials and endpoint.
 */
export function roleCredentials(
  target: ClientTarget,
  options: AssumeOptions = {},
): ReturnType<typeof fromTemporaryCredentials> | undefined {
  if (!target.roleArn) return undefined;
  return fromTemporaryCredentials({
    params: {
      RoleArn: target.roleArn,
      RoleSessionName: options.sessionName ?? 'replicator',
      ...(target.externalId ? { ExternalId: target.externalId } : {}),
    },
    ...(options.masterCredentials ? { masterCredentials: options.masterCredentials } : {}),
    clientConfig: options.clientConfig ?? { requestHandler: requestHandlerOptions() },
  });
}

/**
 * A DynamoDB client for a region, assuming the target's role (with its external id) when it has one; its requests
 * race the invocation's deadline when the handler set one (engine/deadline.ts).
 */
export function dynamoClient(target: ClientTarget): DynamoDBClient {
  const cacheKey = `${target.region}|${target.roleArn ?? ''}|${target.externalId ?? ''}`;
  let client = dynamo.get(cacheKey);
  if (!client) {
    client = withInvocationDeadline(
      new DynamoDBClient({
        region: target.region,
        maxAttempts: 3,
        requestHandler: requestHandlerOptions(),
        credentials: roleCredentials(target),
      }),
    );
    dynamo.set(cacheKey, client);
  }
  return client;
}

/** The SQS client of the function's own region. */
export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({ maxAttempts: 3, requestHandler: requestHandlerOptions() });
  return sqs;
}

/** Reads a required environment variable, naming it when it is missing. */
export function requiredEnv(name: EnvName | 'AWS_REGION', env: Env = process.env): string {
  const v = env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is required but not set`);
  return v;
}

/** An environment as the dependency factories read it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** An optional environment variable: undefined when unset or empty. */
export function optionalEnv(name: EnvName, env: Env = process.env): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A required environment variable holding JSON, parsed; names the variable when it is not JSON. */
export function jsonEnv<T>(name: EnvName, env: Env = process.env): T {
  const text = requiredEnv(name, env);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`environment variable ${name} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A numeric environment variable, or its default when unset. */
export function numberEnv(name: EnvName, fallback: number, env: Env = process.env): number {
  const v = optionalEnv(name, env);
  return v === undefined ? fallback : Number(v);
}
