/**
 * Reading the IAM authorizations of a request as the proxy sees it: each protocol, each kind of resource, and
 * the condition keys that matter.
 */
import { describe, expect, it } from 'vitest';
import { authorizationsOf, type ObservedRequest } from './request-actions';

const ACCOUNT = '123456789012';
const auth = (service: string, region = 'eu-west-1') =>
  `AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261201/${region}/${service}/aws4_request, SignedHeaders=host, Signature=x`;
const json = (service: string, target: string, body: unknown, region?: string): ObservedRequest => ({
  method: 'POST',
  url: '/',
  headers: { authorization: auth(service, region), 'x-amz-target': target },
  body: JSON.stringify(body),
});
const rest = (method: string, url: string, headers: Record<string, string> = {}): ObservedRequest => ({
  method,
  url,
  headers: { authorization: auth('s3'), ...headers },
});

describe('authorizationsOf', () => {
  it('reads DynamoDB actions on the table (and index) of the body', () => {
    expect(authorizationsOf(json('dynamodb', 'DynamoDB_20120810.PutItem', { TableName: 't' }), ACCOUNT)).toEqual([
      { action: 'dynamodb:PutItem', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t' },
    ]);
    expect(
      authorizationsOf(json('dynamodb', 'DynamoDB_20120810.Query', { TableName: 't', IndexName: 'i' }), ACCOUNT),
    ).toEqual([{ action: 'dynamodb:Query', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t/index/i' }]);
    expect(
      authorizationsOf(
        json('dynamodb', 'DynamoDB_20120810.BatchWriteItem', { RequestItems: { a: [], b: [] } }),
        ACCOUNT,
      ),
    ).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/a' },
      { action: 'dynamodb:BatchWriteItem', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/b' },
    ]);
  });

  it('reads SQS batch actions as the action IAM authorizes, on the queue of the URL', () => {
    const body = { QueueUrl: 'http://localhost:4566/123456789012/replicator-orders' };
    expect(authorizationsOf(json('sqs', 'AmazonSQS.SendMessageBatch', body, 'us-east-1'), ACCOUNT)).toEqual([
      { action: 'sqs:SendMessage', resource: 'arn:aws:sqs:us-east-1:123456789012:replicator-orders' },
    ]);
  });

  it('reads STS AssumeRole with its external id', () => {
    const r: ObservedRequest = {
      method: 'POST',
      url: '/',
      headers: { authorization: auth('sts', 'us-east-1'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fw&ExternalId=ext&RoleSessionName=r',
    };
    expect(authorizationsOf(r, ACCOUNT)).toEqual([
      { action: 'sts:AssumeRole', resource: 'arn:aws:iam::210987654321:role/w', context: { 'sts:ExternalId': 'ext' } },
    ]);
  });

  it('reads S3 object reads, listings with their prefix, and versioned deletes', () => {
    // A HEAD also needs s3:ListBucket (without s3:prefix) for S3 to answer a missing key with 404.
    expect(authorizationsOf(rest('HEAD', '/b/data/a%20b.bin'), ACCOUNT)).toEqual([
      { action: 's3:GetObject', resource: 'arn:aws:s3:::b/data/a b.bin' },
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::b' },
    ]);
    expect(authorizationsOf(rest('GET', '/b?list-type=2&prefix=data%2F'), ACCOUNT)).toEqual([
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'data/' } },
    ]);
    expect(authorizationsOf(rest('DELETE', '/b/k?versionId=v1'), ACCOUNT)).toEqual([
      { action: 's3:DeleteObjectVersion', resource: 'arn:aws:s3:::b/k' },
    ]);
  });

  it('reads a CopyObject as a write of the target and reads of the source object and its tags', () => {
    const copy = rest('PUT', '/dst/k', { 'x-amz-copy-source': '/src/k%3FversionId%3Dv1' });
    expect(authorizationsOf(copy, ACCOUNT)).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::dst/k' },
      { action: 's3:GetObjectVersion', resource: 'arn:aws:s3:::src/k' },
      { action: 's3:GetObjectVersionTagging', resource: 'arn:aws:s3:::src/k' },
      { action: 's3:PutObjectTagging', resource: 'arn:aws:s3:::dst/k' },
    ]);
    const part = rest('PUT', '/dst/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/k' });
    expect(authorizationsOf(part, ACCOUNT)).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::dst/k' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::src/k' },
    ]);
  });

  it('refuses a request it cannot read, so nothing passes unchecked', () => {
    expect(() => authorizationsOf(json('kinesis', 'Kinesis_20131202.PutRecord', {}), ACCOUNT)).toThrow(
      'no IAM reading of kinesis',
    );
  });
});
