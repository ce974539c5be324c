/**
 * The calls Replicator makes as a target's role that no local run records yet (the local cloud has one
 * account): an S3 copy to a target in another account runs CopyObject and UploadPartCopy as that target's
 * role, which must be allowed to read the copy source in the source account. The role's own identity policy is
 * the target account's (the evaluator lets it allow the call); the source bucket's policy is this deployment's.
 */
import type { ReplicationConfig } from '../../lib/config';
import type { Call } from './evaluate';

/** A key under the prefix, as a copy reads it. */
const SAMPLE_KEY = 'replicator-contract/sample.bin';

/** Every read of a source object a target's role makes, per S3 pair and target with a role. */
export function targetRoleCalls(config: ReplicationConfig, sourceAccount: string): Call[] {
  const calls: Call[] = [];
  for (const pair of config.pairs) {
    if (pair.type !== 's3') continue;
    for (const t of pair.targets) {
      if (!t.roleArn) continue;
      for (const action of ['s3:GetObject', 's3:GetObjectVersion']) {
        calls.push({
          principal: t.roleArn,
          action,
          resource: `arn:aws:s3:::${pair.source.bucket}/${pair.prefix ?? ''}${SAMPLE_KEY}`,
          resourceAccount: sourceAccount,
          why: `pair ${pair.name}: a copy to ${t.bucket} reads the copy source as the target's role`,
        });
      }
    }
  }
  return calls;
}
