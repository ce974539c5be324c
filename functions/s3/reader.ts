/**
 * The S3 reconciler's bucket reader: ListObjectsV2 pages under the pair's prefix, and HEADs with checksums.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { BucketReader, HeadObject, ListPage } from './reconcile';
import { headObject } from './store';

/** A bucket read with one client (its region, and a target's role when it has one). */
export class S3BucketReader implements BucketReader {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async list(prefix: string | undefined, startAfter: string | undefined, limit: number): Promise<ListPage> {
    const res = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        ...(prefix ? { Prefix: prefix } : {}),
        ...(startAfter !== undefined ? { StartAfter: startAfter } : {}),
        MaxKeys: limit,
      }),
    );
    const objects = (res.Contents ?? []).flatMap((o) =>
      o.Key === undefined
        ? []
        : [
            {
              key: o.Key,
              size: o.Size ?? 0,
              etag: o.ETag ?? '',
              ...(o.LastModified ? { lastModified: o.LastModified.getTime() } : {}),
            },
          ],
    );
    return { objects, truncated: res.IsTruncated === true };
  }

  head(key: string): Promise<HeadObject | undefined> {
    return headObject(this.client, this.bucket, key);
  }
}
