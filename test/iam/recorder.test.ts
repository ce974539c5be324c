/**
 * The call recorder: calls attributed to the function whose key signed them, a target role's calls to the role
 * (by the key STS returned for it), others counted and left out, each distinct call once.
 */
import { describe, expect, it } from 'vitest';
import { localAccessKeyId } from '../../src/local/function-pool';
import { CallRecorder, type Exchange } from './recorder';

const signed = (key: string, service: string, region = 'eu-west-1') => ({
  authorization: `AWS4-HMAC-SHA256 Credential=${key}/20261201/${region}/${service}/aws4_request, SignedHeaders=host, Signature=x`,
});
const put = (key: string): Exchange => ({
  method: 'POST',
  url: '/',
  headers: { ...signed(key, 'dynamodb'), 'x-amz-target': 'DynamoDB_20120810.PutItem' },
  body: JSON.stringify({ TableName: 'orders' }),
  status: 200,
});
const ROLES = new Map([['replicator-orders-apply', 'arn:aws:iam::123456789012:role/apply']]);

describe('CallRecorder', () => {
  it('attributes a call to the function whose key signed it, once however often it is made', () => {
    const r = new CallRecorder(['replicator-orders-apply'], '123456789012');
    const key = localAccessKeyId('replicator-orders-apply');
    r.observe(put(key));
    r.observe(put(key));
    r.observe(put('test'));
    expect(r.unattributed).toBe(1);
    expect(r.calls(ROLES)).toEqual([
      {
        principal: 'arn:aws:iam::123456789012:role/apply',
        action: 'dynamodb:PutItem',
        resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
        resourceAccount: '123456789012',
        why: 'replicator-orders-apply calls dynamodb:PutItem',
      },
    ]);
  });

  it("attributes calls signed with an assumed role's key to that role, in its account", () => {
    const r = new CallRecorder(['replicator-orders-apply'], '123456789012');
    r.observe({
      method: 'POST',
      url: '/',
      headers: {
        ...signed(localAccessKeyId('replicator-orders-apply'), 'sts', 'us-east-1'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fwriter&ExternalId=x&RoleSessionName=s',
      status: 200,
      responseBody:
        '<AssumeRoleResponse><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId></Credentials></AssumeRoleResponse>',
    });
    r.observe(put('ASIAEXAMPLE'));
    const calls = r.calls(ROLES);
    expect(calls.map((c) => [c.principal, c.action])).toEqual([
      ['arn:aws:iam::123456789012:role/apply', 'sts:AssumeRole'],
      ['arn:aws:iam::210987654321:role/writer', 'dynamodb:PutItem'],
    ]);
    expect(calls[0]?.context).toEqual({ 'sts:ExternalId': 'x' });
    expect(calls[1]?.why).toBe(
      'replicator-orders-apply as arn:aws:iam::210987654321:role/writer calls dynamodb:PutItem',
    );
  });

  it('keeps what it could not read, so the contract test fails on it', () => {
    const r = new CallRecorder(['f'], '123456789012');
    r.observe({
      method: 'POST',
      url: '/',
      headers: { ...signed(localAccessKeyId('f'), 'kinesis'), 'x-amz-target': 'Kinesis_20131202.PutRecord' },
      body: '{}',
      status: 200,
    });
    expect(r.unreadable).toEqual(['no IAM reading of kinesis Kinesis_20131202.PutRecord']);
  });
});
