/**
 * S3's conditional copies, where stock moto ignores them. moto honours If-Match / If-None-Match on PutObject,
 * CompleteMultipartUpload and DeleteObject, but not on a copy: CopyObject's target conditions and
 * `x-amz-copy-source-if-match` (CopyObject and UploadPartCopy) are dropped, so a create-only copy overwrites
 * and a copy pinned to a source ETag takes whatever is there. The copier relies on both (functions/s3/copy.ts),
 * so the local cloud checks them, as S3 does:
 * - a target condition that fails answers 412 PreconditionFailed; If-Match on a key that is gone answers 404
 *   NoSuchKey (S3's answer, which names a missing source the same way);
 * - a source condition that fails answers 412; a source that is gone, 404 NoSuchKey.
 * Where: in moto itself when the moto_server was started by `startMoto` (moto.ts: its hook checks them inside the
 * request that copies, at no request of its own); otherwise here, in the proxy, by a HEAD of the target and
 * of the source before the copy is forwarded (two more requests to moto per copy, not counted).
 * The check and the write must not be split by another write to the key: every object write through the proxy
 * (PUT, POST, DELETE on an object path; parts excepted) holds the key's lock until moto has answered, so writes
 * to one key are serialized, as S3's conditional writes are. Writes that bypass the proxy (a test's own client
 * on moto's endpoint) are not serialized.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/** How the proxy treats the copy conditions moto ignores. */
export type S3CopyConditions =
  /** Checks them as S3 does (the default: the local cloud then behaves as S3 for the copier). */
  | 'enforce'
  /**
   * Drops them before moto sees them, so moto copies regardless (as stock moto does): to show what the copier
   * does without them.
   */
  | 'pass';

/** The copy conditions' headers, as Node names them. */
const COPY_CONDITION_HEADERS = ['if-match', 'if-none-match', 'x-amz-copy-source-if-match'] as const;

/** One S3 request, as far as its conditions go. */
interface ObjectRequest {
  /** `/bucket/key` as the request names it (encoded). */
  readonly path: string;
  readonly method: string;
  /** A copy (CopyObject, or UploadPartCopy with `partNumber` and `uploadId`). */
  readonly copySource?: string;
  /** A part of a multipart upload (UploadPart, UploadPartCopy). */
  readonly partCopy: boolean;
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly sourceIfMatch?: string;
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The object request in `req`, or undefined when it is not a write to one S3 object (path-style addressing;
 * `service` from the SigV4 credential scope: SQS's query API also POSTs to two-segment paths).
 */
export function objectRequest(
  req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
  service: string | undefined,
): ObjectRequest | undefined {
  if (service !== 's3') return undefined;
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'PUT' && method !== 'POST' && method !== 'DELETE') return undefined;
  const url = new URL(req.url ?? '/', 'http://x');
  // `/bucket/key…`: a key is at least one character after the bucket's slash.
  if (!/^\/[^/]+\/.+/.test(url.pathname)) return undefined;
  const copySource = one(req.headers['x-amz-copy-source']);
  const ifMatch = one(req.headers['if-match']);
  const ifNoneMatch = one(req.headers['if-none-match']);
  const sourceIfMatch = one(req.headers['x-amz-copy-source-if-match']);
  return {
    path: url.pathname,
    method,
    ...(copySource !== undefined ? { copySource } : {}),
    partCopy: url.searchParams.has('partNumber') && url.searchParams.has('uploadId'),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    ...(sourceIfMatch !== undefined ? { sourceIfMatch } : {}),
  };
}

/** S3's answer to a condition that failed. */
export interface ConditionFailure {
  readonly status: 404 | 412;
  readonly code: 'NoSuchKey' | 'PreconditionFailed';
  readonly message: string;
}

const unquote = (etag: string) => etag.replace(/"/g, '');

/**
 * Decides a copy's conditions from what the target and the source hold (their ETags, undefined when absent),
 * as S3 does; undefined when every condition holds.
 */
export function copyConditionFailure(
  r: Pick<ObjectRequest, 'partCopy' | 'ifMatch' | 'ifNoneMatch' | 'sourceIfMatch'>,
  target: string | undefined,
  source: string | undefined,
): ConditionFailure | undefined {
  if (r.sourceIfMatch !== undefined) {
    if (source === undefined) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    if (unquote(source) !== unquote(r.sourceIfMatch)) {
      return { status: 412, code: 'PreconditionFailed', message: 'x-amz-copy-source-If-Match did not hold' };
    }
  }
  // A part copy has no target conditions: the upload's completion carries them.
  if (r.partCopy) return undefined;
  if (r.ifNoneMatch === '*' && target !== undefined) {
    return { status: 412, code: 'PreconditionFailed', message: 'If-None-Match: the key exists' };
  }
  if (r.ifMatch !== undefined) {
    if (target === undefined) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    if (unquote(target) !== unquote(r.ifMatch)) {
      return { status: 412, code: 'PreconditionFailed', message: 'If-Match did not hold' };
    }
  }
  return undefined;
}

/** Headers a HEAD of another object may reuse: those that say who asks (moto reads the account from them). */
const PROBE_HEADERS = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'host'];

/** HEAD of `path` (with its query) at moto: the object's ETag, or undefined when there is none. */
function probe(target: URL, path: string, headers: IncomingMessage['headers']): Promise<string | undefined> {
  const probeHeaders: Record<string, string> = {};
  for (const name of PROBE_HEADERS) {
    const v = one(headers[name]);
    if (v !== undefined) probeHeaders[name] = v;
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        protocol: target.protocol,
        hostname: target.hostname === 'localhost' ? '127.0.0.1' : target.hostname,
        port: target.port,
        method: 'HEAD',
        path,
        headers: probeHeaders,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const etag = one(res.headers.etag);
          const deleteMarker = one(res.headers['x-amz-delete-marker']) === 'true';
          resolve(res.statusCode === 200 && !deleteMarker && etag !== undefined ? etag : undefined);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The path (and version query) of a copy source header: `bucket/key[?versionId=…]`, encoded as sent. */
export function copySourcePath(copySource: string): string {
  return copySource.startsWith('/') ? copySource : `/${copySource}`;
}

/** Serializes writes per object key and checks copy conditions before they are forwarded. */
export class S3ConditionGate {
  private readonly locks = new Map<string, Promise<void>>();

  /**
   * @param motoChecks the moto behind `target` checks copy conditions itself (`startMoto`'s hook): the gate
   * then only serializes writes per key ('enforce') or drops the conditions ('pass').
   */
  constructor(
    private readonly target: URL,
    private readonly mode: S3CopyConditions,
    private readonly motoChecks = false,
  ) {}

  /**
   * Runs `forward` for an S3 request, holding its key's lock (object writes) and answering a failed copy
   * condition itself (then `answered` is called: S3 bills such a request too); `forward` resolves once moto
   * has answered.
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    service: string | undefined,
    forward: () => Promise<void>,
    answered: () => void = () => undefined,
  ): Promise<void> {
    const r = objectRequest(req, service);
    if (r === undefined) return forward();
    if (this.mode === 'pass') {
      if (r.copySource !== undefined) for (const name of COPY_CONDITION_HEADERS) delete req.headers[name];
      return forward();
    }
    // Parts change nothing visible until their upload completes: they run in parallel, unlocked.
    const release = r.partCopy ? () => undefined : await this.lock(r.path);
    try {
      const failure = r.copySource !== undefined && !this.motoChecks ? await this.check(r, req.headers) : undefined;
      if (failure === undefined) {
        await forward();
        return;
      }
      req.resume();
      answered();
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${failure.code}</Code><Message>${failure.message}</Message></Error>`;
      res.writeHead(failure.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } finally {
      release();
    }
  }

  private async check(r: ObjectRequest, headers: IncomingMessage['headers']): Promise<ConditionFailure | undefined> {
    const targetConditions = !r.partCopy && (r.ifMatch !== undefined || r.ifNoneMatch !== undefined);
    if (!targetConditions && r.sourceIfMatch === undefined) return undefined;
    const [target, source] = await Promise.all([
      targetConditions ? probe(this.target, r.path, headers) : undefined,
      r.sourceIfMatch !== undefined && r.copySource !== undefined
        ? probe(this.target, copySourcePath(r.copySource), headers)
        : undefined,
    ]);
    return copyConditionFailure(r, target, source);
  }

  private async lock(key: string): Promise<() => void> {
    const before = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = before.then(() => mine);
    this.locks.set(key, chained);
    await before;
    return () => {
      release();
      if (this.locks.get(key) === chained) this.locks.delete(key);
    };
  }
}
