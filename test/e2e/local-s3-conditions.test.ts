/**
 * The local cloud's proxy checks the copy conditions moto ignores (src/local/s3-conditions.ts), so the copier's
 * create-only copies and source pins behave on the local cloud as on S3; with `pass`, moto's own behaviour
 * shows through (which is why the proxy enforces them). Against a real moto_server, started and stopped here.
 */
import { CopyObjectCommand, CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3 } from '../../src/cli/aws';
import { type CountingProxy, startCountingProxy } from '../../src/local/counting-proxy';
import { type MotoServer, startMoto } from '../../src/local/moto';

let moto: MotoServer;
let enforcing: CountingProxy;
let passing: CountingProxy;

const copy = (s3: S3Client, key: string, extra: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]>) =>
  s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: key, CopySource: `src/${key}`, ...extra }));

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: { name?: string; $metadata?: { httpStatusCode?: number } }) => `${err.$metadata?.httpStatusCode} ${err.name}`,
  );

beforeAll(async () => {
  moto = await startMoto();
  enforcing = await startCountingProxy(moto.endpoint);
  passing = await startCountingProxy(moto.endpoint, { s3CopyConditions: 'pass' });
  const s3 = localS3(moto.endpoint, 'us-east-1');
  for (const b of ['src', 'dst']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  for (const k of ['a', 'b', 'c']) {
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: k, Body: `source ${k}` }));
    await s3.send(new PutObjectCommand({ Bucket: 'dst', Key: k, Body: `target ${k}` }));
  }
}, 120_000);

afterAll(async () => {
  await enforcing?.stop();
  await passing?.stop();
  await moto?.stop();
});

describe('copy conditions on the local cloud', () => {
  it('answers as S3 does when the proxy enforces them', async () => {
    const s3 = localS3(enforcing.endpoint, 'us-east-1');
    const target = await localS3(moto.endpoint, 'us-east-1').send(
      new PutObjectCommand({ Bucket: 'dst', Key: 'a', Body: 'target a' }),
    );
    expect(await codeOf(copy(s3, 'a', { IfNoneMatch: '*' }))).toBe('412 PreconditionFailed');
    expect(await codeOf(copy(s3, 'a', { IfMatch: '"not-it"' }))).toBe('412 PreconditionFailed');
    expect(await codeOf(copy(s3, 'new-key', { IfMatch: '"x"', CopySource: 'src/a' }))).toBe('404 NoSuchKey');
    expect(await codeOf(copy(s3, 'b', { CopySourceIfMatch: '"not-it"' }))).toBe('412 PreconditionFailed');
    expect(await codeOf(copy(s3, 'gone', { CopySourceIfMatch: '"x"' }))).toBe('404 NoSuchKey');
    // Conditions that hold: the copy is made.
    expect(await codeOf(copy(s3, 'a', { IfMatch: target.ETag! }))).toBe('ok');
    expect(await codeOf(copy(s3, 'fresh', { IfNoneMatch: '*', CopySource: 'src/c' }))).toBe('ok');
    // The checks are S3's own work, not requests of the caller's.
    expect(enforcing.counts()).toEqual({ 's3:PUT': 7 });
  });

  it('shows moto ignoring them when passed through', async () => {
    const s3 = localS3(passing.endpoint, 'us-east-1');
    expect(await codeOf(copy(s3, 'b', { IfNoneMatch: '*' }))).toBe('ok');
    expect(await codeOf(copy(s3, 'c', { CopySourceIfMatch: '"not-it"' }))).toBe('ok');
  });
});
