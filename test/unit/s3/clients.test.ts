import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasEndpointOverride, s3Client } from '../../../functions/s3/clients';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('s3Client', () => {
  it('uses path-style addressing when an endpoint override is set (moto: bucket.localhost does not resolve)', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://localhost:4566');
    expect(await s3Client({ region: 'sa-east-1' }).config.forcePathStyle).toBe(true);
  });

  it('keeps virtual-host addressing against real S3', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
    expect(hasEndpointOverride()).toBe(false);
    expect(await s3Client({ region: 'ca-central-1' }).config.forcePathStyle).toBe(false);
  });

  it('counts the S3-only endpoint variable as an override', () => {
    expect(hasEndpointOverride({ AWS_ENDPOINT_URL_S3: 'http://localhost:1' })).toBe(true);
  });

  it('builds one client per region and role', () => {
    const a = s3Client({ region: 'eu-west-2' });
    expect(s3Client({ region: 'eu-west-2' })).toBe(a);
    expect(s3Client({ region: 'eu-west-2', roleArn: 'arn:aws:iam::1:role/r' })).not.toBe(a);
  });
});
