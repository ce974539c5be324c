/**
 * SDK clients per region (and per assumed role), built once per container and reused, and the reading of
 * the functions' environment (its names are the contract's).
 *
 * The SDK reads AWS_ENDPOINT_URL by itself, which is how the local runtime points handlers at moto.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { ClientTarget, EnvName } from '../contract';

const dynamo = new Map<string, DynamoDBClient>();
let sqs: SQSClient | undefined;

/** Credentials of the target's role (assumed with its external id), or undefined for the function's own. */
export function roleCredentials(target: ClientTarget): ReturnType<typeof fromTemporaryCredentials> | undefined {
  if (!target.roleArn) return undefined;
  return fromTemporaryCredentials({
    params: {
      RoleArn: target.roleArn,
      RoleSessionName: 'replicator',
      ...(target.externalId ? { ExternalId: target.externalId } : {}),
    },
  });
}

/** A DynamoDB client for a region, assuming the target's role (with its external id) when it has one. */
export function dynamoClient(target: ClientTarget): DynamoDBClient {
  const cacheKey = `${target.region}|${target.roleArn ?? ''}|${target.externalId ?? ''}`;
  let client = dynamo.get(cacheKey);
  if (!client) {
    client = new DynamoDBClient({
      region: target.region,
      maxAttempts: 3,
      credentials: roleCredentials(target),
    });
    dynamo.set(cacheKey, client);
  }
  return client;
}

/** The SQS client of the function's own region. */
export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({ maxAttempts: 3 });
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
