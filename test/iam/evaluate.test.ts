/**
 * The evaluator on hand-made policies: a prefix-scoped s3:ListBucket does not let S3 answer a HEAD of a missing
 * key with 404 unless its condition tolerates the missing s3:prefix (IfExists).
 */
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate';
import { authorizationsOf } from './request-actions';
import type { IamModel } from './template-model';

const ROLE = 'arn:aws:iam::123456789012:role/copy';

function modelWith(condition: Record<string, unknown>): IamModel {
  return {
    roles: new Map([
      [
        ROLE,
        {
          arn: ROLE,
          account: '123456789012',
          stack: 's',
          logicalId: 'CopyRole',
          trust: { Statement: [] },
          policies: [
            {
              name: 'p',
              policy: {
                Version: '2012-10-17',
                Statement: [
                  { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/data/*' },
                  { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b', Condition: condition },
                ],
              },
            },
          ],
        },
      ],
    ]),
    resourcePolicies: new Map(),
    functionRoles: new Map(),
    arns: new Map(),
    bucketAccounts: new Map(),
  };
}

const head = authorizationsOf(
  {
    method: 'HEAD',
    url: '/b/data/new.bin',
    headers: { authorization: 'AWS4-HMAC-SHA256 Credential=K/20261201/us-east-1/s3/aws4_request, Signature=x' },
  },
  '123456789012',
);
const calls = head.map((a) => ({
  principal: ROLE,
  ...a,
  resourceAccount: '123456789012',
  why: 'copy HEADs a new key',
}));

describe('evaluate', () => {
  it('denies the 404 of a HEAD under a StringLike s3:prefix condition, allows it under StringLikeIfExists', async () => {
    const strict = modelWith({ StringLike: { 's3:prefix': 'data/*' } });
    const tolerant = modelWith({ StringLikeIfExists: { 's3:prefix': 'data/*' } });
    expect((await Promise.all(calls.map((c) => evaluate(strict, c)))).map((d) => d.result)).toEqual([
      'Allowed',
      'ImplicitlyDenied',
    ]);
    expect((await Promise.all(calls.map((c) => evaluate(tolerant, c)))).map((d) => d.result)).toEqual([
      'Allowed',
      'Allowed',
    ]);
  });

  it('still holds a listing to the prefix it asks for', async () => {
    const tolerant = modelWith({ StringLikeIfExists: { 's3:prefix': 'data/*' } });
    const list = (prefix: string) =>
      evaluate(tolerant, {
        principal: ROLE,
        action: 's3:ListBucket',
        resource: 'arn:aws:s3:::b',
        resourceAccount: '123456789012',
        context: { 's3:prefix': prefix },
        why: 'a listing',
      });
    expect((await list('data/x')).result).toBe('Allowed');
    expect((await list('other/')).result).toBe('ImplicitlyDenied');
  });
});
