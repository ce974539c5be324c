/**
 * The IAM contract, for the calls AWS services make for Replicator (service-calls.ts): each is evaluated against
 * the synthesized templates' identity, resource, key and trust policies (evaluate.ts), for the README's configs
 * and those with cross-account targets. Any implicit or explicit deny fails with the call and what is missing.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicationConfigInput } from '../../lib/config';
import { DATASETS_CONFIG, MIXED_CONFIG, ORDERS_CONFIG, TWO_PAIRS_CONFIG } from '../infra/helpers';
import { denied, describeDenials, evaluate } from './evaluate';
import { serviceCalls } from './service-calls';
import { SYNTH_ACCOUNT, synthesizedDeployment } from './synthesized';
import { targetRoleCalls } from './target-role-calls';
import { type DeployedTemplate, iamModel } from './template-model';

const ACCOUNT = SYNTH_ACCOUNT;
const deployment = synthesizedDeployment;

/** The deployment of a config as the evaluator reads it: every stack's template, account and region. */
async function deployed(config: ReplicationConfigInput): Promise<DeployedTemplate[]> {
  return (await deployment(config)).stacks;
}

const CONFIGS: Record<string, ReplicationConfigInput> = {
  'orders, reconciled': { ...ORDERS_CONFIG, reconcile: { schedule: 'rate(6 hours)', repair: true } },
  'two table pairs, one cross-account': TWO_PAIRS_CONFIG,
  'two bucket pairs, one cross-account': DATASETS_CONFIG,
  'a table pair and a bucket pair': { ...MIXED_CONFIG, alarms: { email: 'ops@example.com' } },
};

describe.each(Object.entries(CONFIGS))('calls AWS services make for Replicator: %s', (_, config) => {
  it('are all allowed by the synthesized policies, as are the reads of the copy source by target roles', async () => {
    const d = await deployment(config);
    const model = iamModel(d.stacks);
    const calls = [...serviceCalls(d.stacks, model), ...targetRoleCalls(d.config, d.config.account ?? ACCOUNT)];
    expect(calls.length).toBeGreaterThan(0);
    const denials = await denied(model, calls);
    expect(describeDenials(denials)).toBe('');
  });
});

describe('the contract test itself', () => {
  it('sees each kind of service call', async () => {
    const stacks = await deployed(CONFIGS['orders, reconciled']!);
    const calls = serviceCalls(stacks, iamModel(stacks));
    const kinds = new Set(calls.map((c) => `${c.principal} ${c.action}`));
    for (const k of [
      'cloudwatch.amazonaws.com sns:Publish',
      'cloudwatch.amazonaws.com kms:GenerateDataKey',
      'lambda.amazonaws.com sts:AssumeRole',
      'events.amazonaws.com lambda:InvokeFunction',
      'events.amazonaws.com sqs:SendMessage',
    ]) {
      expect(kinds).toContain(k);
    }
    const s3 = await deployed(DATASETS_CONFIG);
    expect(serviceCalls(s3, iamModel(s3)).some((c) => c.principal === 's3.amazonaws.com')).toBe(true);
  });

  it('catches a removed grant, naming the call and what is missing', async () => {
    const stacks = await deployed(ORDERS_CONFIG);
    const model = iamModel(stacks);
    const read = serviceCalls(stacks, model).find((c) => c.action === 'dynamodb:GetRecords')!;
    const role = model.roles.get(read.principal)!;
    // The capture role without its stream grants: the event source mapping could not read.
    const stripped = {
      ...model,
      roles: new Map([
        ...model.roles,
        [
          role.arn,
          {
            ...role,
            policies: role.policies.map((p) => ({
              ...p,
              policy: {
                ...p.policy,
                Statement: p.policy.Statement.filter(
                  (s) => !([] as unknown[]).concat(s.Action).includes('dynamodb:GetRecords'),
                ),
              },
            })),
          },
        ],
      ]),
    };
    const d = await evaluate(stripped, read);
    expect(d.result).toBe('ImplicitlyDenied');
    expect(describeDenials([d])).toMatch(
      /^ImplicitlyDenied: the event source mapping of replicator-orders-capture reads arn:aws:dynamodb:us-east-1:123456789012:table\/orders\/stream\/.*: .* dynamodb:GetRecords .*no identity policy statement/,
    );
  });

  it("finds that a target role could not read the copy source without the source bucket's grant", async () => {
    const d = await deployment(DATASETS_CONFIG);
    const model = iamModel(d.stacks);
    const source = [...model.resourcePolicies.keys()].find((a) => a === 'arn:aws:s3:::training-data')!;
    const policy = model.resourcePolicies.get(source)!;
    const withoutGrant = {
      ...model,
      resourcePolicies: new Map([
        ...model.resourcePolicies,
        [
          source,
          {
            ...policy,
            policy: {
              ...policy.policy,
              Statement: policy.policy.Statement.filter((st) => st.Sid !== 'TargetRolesReadSource'),
            },
          },
        ],
      ]),
    };
    const denials = await denied(withoutGrant, targetRoleCalls(d.config, ACCOUNT));
    expect(describeDenials(denials)).toMatch(
      /^ImplicitlyDenied: pair datasets: a copy to training-data-partner reads the copy source as the target's role: arn:aws:iam::210987654321:role\/replicator-writer s3:GetObject on arn:aws:s3:::training-data\/datasets\/.* \(cross-account: /,
    );
  });

  it('warns, with the statement to add, when an imported source bucket has a target in another account', async () => {
    const imported = {
      ...DATASETS_CONFIG,
      pairs: [
        {
          ...(DATASETS_CONFIG.pairs[0] as Extract<ReplicationConfigInput['pairs'][number], { type: 's3' }>),
          source: { bucket: 'training-data' },
        },
      ],
    };
    const d = await deployment(imported);
    expect(d.warnings.join('\n')).toContain(
      'pair datasets: the imported source bucket training-data must let the target role(s) read it, or every copy to them fails with AccessDenied; add to its bucket policy: {"Sid":"TargetRolesReadSource","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::210987654321:role/replicator-writer"]},"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::training-data/datasets/*"}',
    );
  });

  it('refuses an event notification from a bucket of the same name in another account (aws:SourceAccount)', async () => {
    const stacks = await deployed(DATASETS_CONFIG);
    const model = iamModel(stacks);
    const notify = serviceCalls(stacks, model).find((c) => c.principal === 's3.amazonaws.com')!;
    const d = await evaluate(model, { ...notify, context: { ...notify.context, 'aws:SourceAccount': '999999999999' } });
    expect(d.result).toBe('ExplicitlyDenied');
  });
});
