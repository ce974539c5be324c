/**
 * Imported tables and buckets encrypted with customer managed KMS keys (`kmsKeyArn` on sources and targets):
 * the calls AWS makes to KMS on behalf of each function (and of a target account's role) are evaluated against
 * the synthesized policies. Each use goes through the service (kms:ViaService), and nothing else is allowed.
 * The keys' own policies are their owners' (imported keys): each is given KMS's default key policy, which
 * delegates to IAM, and a cross-account use is shown to need the key owner's statement, which synth prints.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { KMS_CONFIG, KMS_KEYS } from '../infra/helpers';
import { type Call, denied, describeDenials } from './evaluate';
import { synthesizedDeployment } from './synthesized';
import { iamModel } from './template-model';

const ACCOUNT = '123456789012';
const PARTNER = '210987654321';
const { SOURCE_TABLE_KEY, TARGET_TABLE_KEY, SOURCE_BUCKET_KEY, TARGET_BUCKET_KEY, PARTNER_BUCKET_KEY } = KMS_KEYS;
const PARTNER_ROLE = `arn:aws:iam::${PARTNER}:role/replicator-writer`;
const CONFIG = KMS_CONFIG;

const role = (fn: string) => `arn:aws:iam::${ACCOUNT}:role/replicator-${fn}-us-east-1`;

/** A KMS call made through `service` in `region` on behalf of `principal`. */
function kms(principal: string, action: string, keyArn: string, via: string, why: string): Call {
  return {
    principal,
    action,
    resource: keyArn,
    resourceAccount: keyArn.split(':')[4]!,
    context: { 'kms:ViaService': `${via}.amazonaws.com` },
    why,
  };
}

describe('KMS keys of imported tables and buckets', () => {
  it('lets each function use each key only as its service needs it, through that service', async () => {
    const d = await synthesizedDeployment(CONFIG);
    const model = iamModel(d.stacks);
    // KMS needs the key policy to allow too: each imported key has the default one, which delegates to IAM.
    for (const k of [SOURCE_TABLE_KEY, TARGET_TABLE_KEY, SOURCE_BUCKET_KEY, TARGET_BUCKET_KEY, PARTNER_BUCKET_KEY]) {
      const owner = k.split(':')[4]!;
      model.resourcePolicies.set(k, {
        account: owner,
        policy: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' },
          ],
        },
      });
    }
    const allowed: Call[] = [
      kms(role('orders-capture'), 'kms:Decrypt', SOURCE_TABLE_KEY, 'dynamodb.us-east-1', 'capture reads the stream'),
      kms(role('orders-apply'), 'kms:Decrypt', SOURCE_TABLE_KEY, 'dynamodb.us-east-1', 'apply fetches a large item'),
      kms(role('orders-apply'), 'kms:GenerateDataKey', TARGET_TABLE_KEY, 'dynamodb.eu-west-1', 'apply writes'),
      kms(role('orders-apply'), 'kms:Decrypt', TARGET_TABLE_KEY, 'dynamodb.eu-west-1', 'apply reads its write'),
      kms(role('orders-reconcile'), 'kms:Decrypt', SOURCE_TABLE_KEY, 'dynamodb.us-east-1', 'reconcile scans'),
      kms(role('orders-reconcile'), 'kms:Decrypt', TARGET_TABLE_KEY, 'dynamodb.eu-west-1', 'reconcile scans'),
      kms(role('datasets-copy'), 'kms:Decrypt', SOURCE_BUCKET_KEY, 's3.us-east-1', 'copy reads an object'),
      kms(role('datasets-copy'), 'kms:Decrypt', SOURCE_BUCKET_KEY, 's3.eu-west-1', 'S3 in the target region copies'),
      kms(role('datasets-copy'), 'kms:GenerateDataKey', TARGET_BUCKET_KEY, 's3.eu-west-1', 'copy writes'),
      kms(role('datasets-copy'), 'kms:Decrypt', TARGET_BUCKET_KEY, 's3.eu-west-1', 'a multipart copy completes'),
      kms(PARTNER_ROLE, 'kms:GenerateDataKey', PARTNER_BUCKET_KEY, 's3.ap-northeast-1', 'the target role writes'),
    ];
    expect(describeDenials(await denied(model, allowed))).toBe('');

    const refused = await denied(model, [
      { ...allowed[0]!, context: {}, why: 'capture decrypting directly, not through DynamoDB' },
      kms(role('orders-capture'), 'kms:GenerateDataKey', SOURCE_TABLE_KEY, 'dynamodb.us-east-1', 'capture writing'),
      kms(role('orders-apply'), 'kms:Decrypt', TARGET_TABLE_KEY, 's3.eu-west-1', 'the table key through S3'),
      kms(role('datasets-copy'), 'kms:Decrypt', PARTNER_BUCKET_KEY, 's3.ap-northeast-1', "the partner's key"),
      // The source's key belongs to the source account: only its key policy can let the partner's role decrypt.
      kms(PARTNER_ROLE, 'kms:Decrypt', SOURCE_BUCKET_KEY, 's3.ap-northeast-1', 'the target role reads the source'),
    ]);
    expect(refused.map((r) => r.call.why)).toEqual([
      'capture decrypting directly, not through DynamoDB',
      'capture writing',
      'the table key through S3',
      "the partner's key",
      'the target role reads the source',
    ]);
    expect(refused[4]!.detail).toMatch(/cross-account/);
    expect(d.warnings.join('\n')).toMatch(
      new RegExp(`the key policy of ${SOURCE_BUCKET_KEY} must let them decrypt.*${PARTNER_ROLE}`),
    );
  });

  it('takes a key only for an imported table or bucket, and only as a KMS key ARN', () => {
    const created = structuredClone(CONFIG) as { pairs: { source: Record<string, unknown> }[] };
    created.pairs[0]!.source = { table: 'orders', create: { partitionKey: 'pk:S' }, kmsKeyArn: SOURCE_TABLE_KEY };
    expect(() => parseConfig(created)).toThrow(
      /pairs\[0\]\.source\.kmsKeyArn: only for an imported table; a created one is encrypted with a key AWS manages/,
    );
    const bad = structuredClone(CONFIG) as { pairs: { targets: Record<string, unknown>[] }[] };
    bad.pairs[1]!.targets[0]!.kmsKeyArn = 'alias/mine';
    expect(() => parseConfig(bad)).toThrow(/pairs\[1\]\.targets\[0\]\.kmsKeyArn: must be a KMS key ARN/);
  });
});
