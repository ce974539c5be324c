/** In-memory S3 reconcile sides: a bucket that lists in UTF-8 order as S3 does, and a checkpoint store. */
import type { CheckpointStore, ReconcileCheckpoint } from '../../functions/engine/checkpoint';
import { type BucketReader, compareKeys, type HeadObject } from '../../functions/s3/reconcile';

/** An in-memory bucket: key → HEAD. Lists in UTF-8 order, as S3 does. */
export class MemoryBucket implements BucketReader {
  readonly objects = new Map<string, HeadObject>();
  lists = 0;
  heads = 0;
  /** Called after every list, to change the bucket between listing and settling. */
  afterList?: () => void;

  put(key: string, body: string, extra: Partial<HeadObject> = {}): this {
    this.objects.set(key, {
      size: body.length,
      etag: `"${Buffer.from(body).toString('hex').slice(0, 32).padEnd(32, '0')}"`,
      checksums: { CRC32: `crc:${body}` },
      ...extra,
    });
    return this;
  }

  async list(prefix: string | undefined, startAfter: string | undefined, limit: number) {
    this.lists++;
    const keys = [...this.objects.keys()]
      .filter(
        (k) =>
          (prefix === undefined || k.startsWith(prefix)) &&
          (startAfter === undefined || compareKeys(k, startAfter) > 0),
      )
      .sort(compareKeys);
    const page = keys.slice(0, limit);
    const objects = page.map((key) => ({ key, size: this.objects.get(key)!.size, etag: this.objects.get(key)!.etag }));
    this.afterList?.();
    return { objects, truncated: keys.length > limit };
  }

  async head(key: string) {
    this.heads++;
    return this.objects.get(key);
  }
}

export class MemoryStore implements CheckpointStore {
  saved?: ReconcileCheckpoint;
  async load() {
    return this.saved;
  }
  async save(cp: ReconcileCheckpoint) {
    this.saved = structuredClone(cp);
  }
}
