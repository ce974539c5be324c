/** The invocation deadline every target, source and state-table client races (functions/engine/deadline.ts). */

import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AbortMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeadlineExceededError,
  deadlineFor,
  setInvocationDeadline,
  withInvocationDeadline,
} from '../../../functions/engine/deadline';
import { isTransient } from '../../../functions/engine/errors';

const credentials = { accessKeyId: 'a', secretAccessKey: 's' };

/** A client whose requests reach `handle` (never the network). */
function clientWith<C>(make: (config: object) => C, handle: () => Promise<never>): { client: C; calls: () => number } {
  let n = 0;
  const client = withInvocationDeadline(
    make({
      region: 'eu-west-1',
      credentials,
      maxAttempts: 1,
      requestHandler: {
        handle: () => {
          n++;
          return handle();
        },
      },
    }),
  );
  return { client, calls: () => n };
}

const hangs = () => new Promise<never>(() => undefined);
class HandlerError extends Error {
  override name = 'HandlerError';
}
const fails = () => Promise.reject(new HandlerError('from the handler'));
const put = new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } });

afterEach(() => setInvocationDeadline(undefined));

describe('invocation deadline', () => {
  it('leaves requests alone while no deadline is set', async () => {
    const { client } = clientWith((c) => new DynamoDBClient(c), fails);
    await expect(client.send(put)).rejects.toThrow(HandlerError);
  });

  it('abandons a request still unanswered at the deadline, with a transient error naming it', async () => {
    const { client, calls } = clientWith((c) => new DynamoDBClient(c), hangs);
    setInvocationDeadline(Date.now() + 50);
    const err = await client.send(put).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toBe('PutItem abandoned: the invocation reached its deadline');
    expect(isTransient(err)).toBe(true);
    expect(calls()).toBe(1);
  });

  it('sends nothing once the deadline has passed', async () => {
    const { client, calls } = clientWith((c) => new DynamoDBClient(c), hangs);
    setInvocationDeadline(Date.now() - 1);
    await expect(client.send(put)).rejects.toThrow('PutItem not sent: the invocation reached its deadline');
    expect(calls()).toBe(0);
  });

  it('still sends the clean-up of a failed multipart copy', async () => {
    const { client, calls } = clientWith((c) => new S3Client(c), fails);
    setInvocationDeadline(Date.now() - 1);
    await expect(
      client.send(new AbortMultipartUploadCommand({ Bucket: 'b', Key: 'k', UploadId: 'u' })),
    ).rejects.toThrow(HandlerError);
    expect(calls()).toBe(1);
  });

  it("ends a tenth before Lambda's timeout, 1 s at least and 5 s at most", () => {
    expect(deadlineFor(1_000, 3_000)).toBe(3_000);
    expect(deadlineFor(1_000, 30_000)).toBe(28_000);
    expect(deadlineFor(1_000, 60_000)).toBe(56_000);
    expect(deadlineFor(1_000, 900_000)).toBe(896_000);
  });
});
