/**
 * SDK clients per region (and per assumed role), built once per container and reused.
 *
 * The SDK reads AWS_ENDPOINT_URL by itself, which is how the local runtime points handlers at moto.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

const dynamo = new Map<string, DynamoDBClient>();
let sqs: SQSClient | undefined;

/** Where a target lives and how to reach it. */
export interface ClientTarget {
  readonly region: string;
  readonly roleArn?: string;
  readonly externalId?: string;
}

/** One DynamoDB target as the TARGETS variable of apply and reconcile describes it. */
export interface TableTargetEnv extends ClientTarget {
  /** `targetId(target)`, e.g. `eu-west-1/orders`. */
  readonly id: string;
  readonly table: string;
}

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
export function requiredEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is required but not set`);
  return v;
}
