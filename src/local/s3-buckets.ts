/**
 * The S3 bucket settings moto skips when it creates a stack, applied through the S3 API:
 * - the notification configuration of each `Custom::S3BucketNotifications` resource (moto marks custom
 *   resources complete without running their handler, so a bucket would send no events);
 * - `VersioningConfiguration` of a created bucket (moto creates the bucket unversioned).
 * moto then sends an `s3:TestEvent` to each queue of a configuration, and real events from then on.
 */
import {
  GetBucketNotificationConfigurationCommand,
  type NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BucketNotificationInfo, BucketVersioningInfo } from './discovery';

/** The destination lists of a notification configuration, and the ARN field of each. */
const DESTINATION_LISTS = {
  QueueConfigurations: 'QueueArn',
  TopicConfigurations: 'TopicArn',
  LambdaFunctionConfigurations: 'LambdaFunctionArn',
} as const;

type DestinationList = keyof typeof DESTINATION_LISTS;

/** A destination entry without its generated Id, comparable whatever order or case S3 returned it in. */
function entryKey(list: DestinationList, entry: Record<string, unknown>): string {
  const rules = ((entry.Filter as { Key?: { FilterRules?: { Name?: string; Value?: string }[] } } | undefined)?.Key
    ?.FilterRules ?? []) as { Name?: string; Value?: string }[];
  return JSON.stringify([
    list,
    entry[DESTINATION_LISTS[list]],
    [...((entry.Events as string[] | undefined) ?? [])].sort(),
    rules.map((r) => `${String(r.Name).toLowerCase()}=${r.Value}`).sort(),
  ]);
}

/**
 * The configuration to put: `wanted` alone for a managed bucket; for an imported one, what the bucket has
 * plus each wanted entry it does not have yet (so applying twice adds nothing, and others' entries stay).
 */
export function mergeNotificationConfiguration(
  existing: Record<string, unknown>,
  wanted: Record<string, unknown>,
  managed: boolean,
): Record<string, unknown> {
  if (managed) return wanted;
  const out: Record<string, unknown> = {};
  for (const list of Object.keys(DESTINATION_LISTS) as DestinationList[]) {
    const have = (existing[list] as Record<string, unknown>[] | undefined) ?? [];
    const seen = new Set(have.map((e) => entryKey(list, e)));
    const add = ((wanted[list] as Record<string, unknown>[] | undefined) ?? []).filter(
      (e) => !seen.has(entryKey(list, e)),
    );
    if (have.length + add.length > 0) out[list] = [...have, ...add];
  }
  const eventBridge = wanted.EventBridgeConfiguration ?? existing.EventBridgeConfiguration;
  if (eventBridge !== undefined) out.EventBridgeConfiguration = eventBridge;
  return out;
}

/** A one-line summary of a configuration: `2 queue configuration(s): s3:ObjectCreated:* [prefix=in/] → arn…`. */
export function describeNotificationConfiguration(configuration: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const list of Object.keys(DESTINATION_LISTS) as DestinationList[]) {
    const entries = (configuration[list] as Record<string, unknown>[] | undefined) ?? [];
    for (const e of entries) {
      const rules = ((e.Filter as { Key?: { FilterRules?: { Name?: string; Value?: string }[] } } | undefined)?.Key
        ?.FilterRules ?? []) as { Name?: string; Value?: string }[];
      const filter = rules.length > 0 ? ` [${rules.map((r) => `${r.Name}=${r.Value}`).join(' ')}]` : '';
      parts.push(`${((e.Events as string[] | undefined) ?? []).join(',')}${filter} → ${e[DESTINATION_LISTS[list]]}`);
    }
  }
  if (configuration.EventBridgeConfiguration !== undefined) parts.push('EventBridge');
  return parts.length > 0 ? parts.join('; ') : 'no destinations';
}

/**
 * Puts the notification configuration of a `Custom::S3BucketNotifications` resource on its bucket, as CDK's
 * handler would (merged with the bucket's own for an imported bucket). Returns the configuration put.
 * @param s3 a client of the bucket's region, with `forcePathStyle: true` for a local endpoint
 */
export async function applyBucketNotifications(
  s3: S3Client,
  info: BucketNotificationInfo,
): Promise<Record<string, unknown>> {
  let existing: Record<string, unknown> = {};
  if (!info.managed) {
    const out = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: info.bucketName }));
    const { $metadata: _, ...configuration } = out;
    existing = configuration as Record<string, unknown>;
  }
  const configuration = mergeNotificationConfiguration(existing, info.configuration, info.managed);
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: info.bucketName,
      NotificationConfiguration: configuration as NotificationConfiguration,
    }),
  );
  return configuration;
}

/** Turns on (or suspends) versioning of a bucket the stack created with a VersioningConfiguration. */
export async function applyBucketVersioning(s3: S3Client, info: BucketVersioningInfo): Promise<void> {
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: info.bucketName, VersioningConfiguration: { Status: info.status } }),
  );
}
