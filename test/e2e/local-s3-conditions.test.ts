/**
 * The local cloud checks the copy conditions stock moto ignores (src/local/s3-conditions.ts), so the copier's
 * create-only copies and source pins behave on the local cloud as on S3: in moto itself (startMoto's hook, even
 * for a client that talks to moto directly), or in the proxy in front of a moto without the hook. With `pass`,
 * stock moto's behaviour shows through (which is why the local cloud checks them). Against real moto_servers,
 * started and stopped here.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3 } from '../../src/cli/aws';
import { type CountingProxy, startCountingProxy } from '../../src/local/counting-proxy';
import { type MotoServer, motoChecksCopyConditions, startMoto } from '../../src/local/moto';
import { outcome } from '../helpers/outcome';

let moto: MotoServer;
let stock: MotoServer;
const proxies: Record<'hooked' | 'probing' | 'passing', CountingProxy | undefined> = {
  hooked: undefined,
  probing: undefined,
  passing: undefined,
};

const copy = (s3: S3Client, key: string, extra: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]>) =>
  s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: key, CopySource: `src/${key}`, ...extra }));

async function seed(endpoint: string): Promise<void> {
  const s3 = localS3(endpoint, 'us-east-1');
  for (const b of ['src', 'dst']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  for (const k of ['a', 'b', 'c']) {
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: k, Body: `source ${k}` }));
    await s3.send(new PutObjectCommand({ Bucket: 'dst', Key: k, Body: `target ${k}` }));
  }
}

beforeAll(async () => {
  [moto, stock] = await Promise.all([startMoto(), startMoto({ s3CopyConditions: false })]);
  await Promise.all([seed(moto.endpoint), seed(stock.endpoint)]);
  proxies.hooked = await startCountingProxy(moto.endpoint);
  proxies.probing = await startCountingProxy(stock.endpoint);
  proxies.passing = await startCountingProxy(moto.endpoint, { s3CopyConditions: 'pass' });
}, 120_000);

afterAll(async () => {
  for (const p of Object.values(proxies)) await p?.stop();
  await moto?.stop();
  await stock?.stop();
});

/**
 * Every condition as S3 answers it, through `via`; `direct` writes straight to moto; `fresh` is a key the target
 * does not have.
 */
async function answersAsS3(via: string, direct: string, fresh: string): Promise<void> {
  const s3 = localS3(via, 'us-east-1');
  const target = await localS3(direct, 'us-east-1').send(
    new PutObjectCommand({ Bucket: 'dst', Key: 'a', Body: 'target a' }),
  );
  expect(await outcome(copy(s3, 'a', { IfNoneMatch: '*' }))).toBe('412 PreconditionFailed');
  expect(await outcome(copy(s3, 'a', { IfMatch: '"not-it"' }))).toBe('412 PreconditionFailed');
  expect(await outcome(copy(s3, 'new-key', { IfMatch: '"x"', CopySource: 'src/a' }))).toBe('404 NoSuchKey');
  expect(await outcome(copy(s3, 'b', { CopySourceIfMatch: '"not-it"' }))).toBe('412 PreconditionFailed');
  expect(await outcome(copy(s3, 'gone', { CopySourceIfMatch: '"x"' }))).toBe('404 NoSuchKey');
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'parts' }));
  const part = (CopySourceIfMatch: string) =>
    s3.send(
      new UploadPartCopyCommand({
        Bucket: 'dst',
        Key: 'parts',
        UploadId: upload.UploadId,
        PartNumber: 1,
        CopySource: 'src/b',
        CopySourceIfMatch,
      }),
    );
  expect(await outcome(part('"not-it"'))).toBe('412 PreconditionFailed');
  // Conditions that hold: the copy is made.
  const b = await localS3(direct, 'us-east-1').send(
    new PutObjectCommand({ Bucket: 'src', Key: 'b', Body: 'source b' }),
  );
  expect(await outcome(part(b.ETag!))).toBe('ok');
  expect(await outcome(copy(s3, 'a', { IfMatch: target.ETag! }))).toBe('ok');
  expect(await outcome(copy(s3, fresh, { IfNoneMatch: '*', CopySource: 'src/c' }))).toBe('ok');
}

describe('copy conditions on the local cloud', () => {
  it("are checked by startMoto's moto itself, for a client that talks to it directly", async () => {
    expect(await motoChecksCopyConditions(moto.endpoint)).toBe(true);
    await answersAsS3(moto.endpoint, moto.endpoint, 'fresh-direct');
  });

  it('are checked as S3 does through the proxy, whether moto checks them or the proxy must', async () => {
    expect(await motoChecksCopyConditions(stock.endpoint)).toBe(false);
    for (const [proxy, server] of [
      [proxies.hooked!, moto],
      [proxies.probing!, stock],
    ] as const) {
      proxy.reset();
      await answersAsS3(proxy.endpoint, server.endpoint, `fresh-${proxy.endpoint}`);
      // The checks are S3's own work, not requests of the caller's.
      expect(proxy.counts()).toEqual({ 's3:POST': 1, 's3:PUT': 9 });
    }
  });

  it('shows stock moto ignoring them when passed through', async () => {
    const s3 = localS3(proxies.passing!.endpoint, 'us-east-1');
    expect(await outcome(copy(s3, 'b', { IfNoneMatch: '*' }))).toBe('ok');
    expect(await outcome(copy(s3, 'c', { CopySourceIfMatch: '"not-it"' }))).toBe('ok');
  });
});
