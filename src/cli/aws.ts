/**
 * The CLI's AWS clients and the queue reads every command shares. Commands use the normal credential chain;
 * `--endpoint` points the clients elsewhere (the local cloud).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ClientTarget } from '../../functions/contract';
import { roleCredentials } from '../../functions/engine/clients';
import { inMotoAccount, motoS3Client } from '../local/moto';

/** Where the CLI's clients go. */
export interface ClientOptions {
  readonly region: string;
  readonly endpoint?: string;
}

/**
 * SDK client settings for the CLI. A local endpoint (localhost) gets moto's test credentials when the
 * environment has none, so `--endpoint http://localhost:PORT` works without an AWS profile.
 */
export function clientConfig(o: ClientOptions): {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
} {
  const local = o.endpoint !== undefined && /^https?:\/\/(localhost|127\.0\.0\.1)(:|\/|$)/.test(o.endpoint);
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE);
  return {
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(local && !hasCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
}

/**
 * SDK client settings for a target: the caller's credentials, or, for a target with a role (another account),
 * that role assumed with them and the target's external id, as the functions do. The role must trust the
 * caller: the config's `operators`.
 */
export function targetClientConfig(
  t: ClientTarget,
  endpoint: string | undefined,
): Omit<ReturnType<typeof clientConfig>, 'credentials'> & {
  credentials?: ReturnType<typeof clientConfig>['credentials'] | ReturnType<typeof roleCredentials>;
} {
  const base = clientConfig({ region: t.region, endpoint });
  if (!t.roleArn) return base;
  return {
    ...base,
    credentials: roleCredentials(t, {
      sessionName: 'replicator-cli',
      ...(base.credentials ? { masterCredentials: base.credentials } : {}),
      clientConfig: { region: t.region, ...(endpoint ? { endpoint } : {}) },
    }),
  };
}

/** Messages in a queue: visible, in flight and delayed. */
export async function queueDepth(sqs: SQSClient, queueName: string): Promise<{ depth: number; url: string }> {
  const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl!;
  const a =
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      )
    ).Attributes ?? {};
  const depth =
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  return { depth, url };
}

/**
 * A DynamoDB client that talks to the local cloud directly (its requests are not counted), in moto's default
 * account or in `account`.
 */
export function localDynamo(endpoint: string, region: string, account?: string): DynamoDBClient {
  return inMotoAccount(
    new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    account,
  );
}

/**
 * An S3 client that talks to the local cloud directly (path-style: `bucket.localhost` does not resolve), in
 * moto's default account or in `account`.
 */
export function localS3(endpoint: string, region: string, account?: string): S3Client {
  return motoS3Client(endpoint, region, account);
}
