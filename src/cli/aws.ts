/**
 * The CLI's AWS clients and the queue reads every command shares. Commands use the normal credential chain;
 * `--endpoint` points the clients elsewhere (the local cloud).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';

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

/** S3 client settings for the CLI: an endpoint override needs path-style addressing (bucket.localhost does not resolve). */
export function s3ClientConfig(o: ClientOptions): ReturnType<typeof clientConfig> & { forcePathStyle?: boolean } {
  return { ...clientConfig(o), ...(o.endpoint ? { forcePathStyle: true } : {}) };
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

/** A DynamoDB client that talks to the local cloud directly (its requests are not counted). */
export function localDynamo(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** An S3 client that talks to the local cloud directly (path-style: `bucket.localhost` does not resolve). */
export function localS3(endpoint: string, region: string): S3Client {
  return new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}
