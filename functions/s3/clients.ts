/**
 * S3 clients per region (and per assumed role), built once per container and reused.
 *
 * The SDK reads AWS_ENDPOINT_URL by itself (how the local runtime points handlers at moto), but its
 * virtual-host addressing (`bucket.localhost`) does not resolve there: any endpoint override gets path-style
 * addressing.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { ClientTarget } from '../contract';
import { requestHandlerOptions, roleCredentials } from '../engine/clients';
import { withInvocationDeadline } from '../engine/deadline';

const s3 = new Map<string, S3Client>();

/** Whether the environment overrides the S3 endpoint (local cloud, or a VPC endpoint by URL). */
export function hasEndpointOverride(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
}

/**
 * An S3 client for a region, assuming the target's role (with its external id) when it has one; its requests race
 * the invocation's deadline when the handler set one (engine/deadline.ts).
 */
export function s3Client(target: ClientTarget): S3Client {
  const cacheKey = `${target.region}|${target.roleArn ?? ''}|${target.externalId ?? ''}`;
  let client = s3.get(cacheKey);
  if (!client) {
    client = withInvocationDeadline(
      new S3Client({
        region: target.region,
        maxAttempts: 3,
        forcePathStyle: hasEndpointOverride(),
        requestHandler: requestHandlerOptions(),
        credentials: roleCredentials(target),
      }),
    );
    s3.set(cacheKey, client);
  }
  return client;
}
