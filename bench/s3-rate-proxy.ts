/**
 * An HTTP proxy in front of moto that models S3's server-side copy speed, for the S3 benchmark's large
 * object (bench/s3-large.ts).
 *
 * moto copies in memory (or from its temporary files), so how long a copy takes there says nothing about
 * S3. This proxy forwards every request to moto unchanged, but holds the response of each server-side copy
 * request — a PUT with an `x-amz-copy-source` header: CopyObject, or UploadPartCopy with
 * `x-amz-copy-source-range` — until the copy would have finished at a fixed rate per request:
 *
 *   delay = bytes ÷ rate, bytes = the range's length, or the source object's size for a whole-object copy
 *   (read once with a HEAD straight to moto, then cached).
 *
 * The response goes out at max(arrival + delay × timeScale, moto's answer). Everything else passes through
 * unchanged.
 *
 * Time scale: moto serializes its own copy work (about a second per 64 MiB part of a 1 GiB object here,
 * because it re-reads the whole source for every part), which can be slower than the modelled delay and
 * would then hide the model behind moto. With `timeScale` k > 1 every modelled delay is stretched k times so
 * that moto's work fits inside it, and the caller divides the elapsed time by k. A response that moto still
 * held past its modelled release is counted as `motoBound`: when any is, the modelled figure is moto's, not
 * the model's.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/** How the proxy models copies; `mbps: null` turns the model off (pure pass-through, timings still logged). */
export interface RateModel {
  /** Copy rate of one request, MiB/s. */
  readonly mbps: number | null;
  /** Every modelled delay is multiplied by this (see the file's header). @default 1 */
  readonly timeScale?: number;
}

/** One request that went through the proxy. */
export interface ProxiedRequest {
  readonly method: string;
  /** The operation, e.g. `UploadPartCopy`, `CompleteMultipartUpload`, `HeadObject`, `BatchGetItem`. */
  readonly op: string;
  /** `copy` (a server-side copy request) or `other`. */
  readonly kind: 'copy' | 'other';
  /** Copy requests: whole-object copy or a part (with a range). */
  readonly copyKind?: 'object' | 'part';
  /** Bytes copied (copy requests). */
  readonly bytes?: number;
  /** Modelled delay at time scale 1, ms (copy requests with the model on). */
  readonly modelMs?: number;
  /** Arrival, ms since the proxy started. */
  readonly arrivedMs: number;
  /** moto's answer, ms after arrival. */
  readonly motoMs: number;
  /** Response sent, ms after arrival. */
  readonly releasedMs: number;
  /** moto answered after the modelled release (the model did not decide this response's time). */
  readonly motoBound: boolean;
  readonly status: number;
}

/** A running rate proxy. */
export interface RateProxy {
  /** `http://localhost:PORT`: point clients (or the counting proxy) at it. */
  readonly endpoint: string;
  /** Sets the model for the requests that arrive from now on. */
  configure(model: RateModel): void;
  /** Requests logged since the last reset, in arrival order. */
  log(): readonly ProxiedRequest[];
  /** Clears the log (not the size cache). */
  reset(): void;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;

/** The bucket, key and version of an `x-amz-copy-source` header (`[/]bucket/key[?versionId=v]`, URL-encoded). */
export function parseCopySource(value: string): { bucket: string; key: string; versionId?: string } {
  const [path = '', query = ''] = value.split('?', 2);
  const decoded = decodeURIComponent(path).replace(/^\/+/, '');
  const slash = decoded.indexOf('/');
  if (slash <= 0) throw new Error(`copy source "${value}" has no bucket/key`);
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return {
    bucket: decoded.slice(0, slash),
    key: decoded.slice(slash + 1),
    ...(versionId !== undefined ? { versionId } : {}),
  };
}

/** Bytes of an `x-amz-copy-source-range` (`bytes=first-last`), or undefined when there is none. */
export function rangeBytes(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m) throw new Error(`cannot read copy source range "${value}"`);
  return Number(m[2]) - Number(m[1]) + 1;
}

/** The S3 (or JSON-protocol) operation of a request, from its method, query and headers. */
export function operationOf(method: string, url: string, headers: IncomingMessage['headers']): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const u = new URL(url, 'http://x');
  const q = u.searchParams;
  const objectPath = u.pathname.replace(/^\/+/, '').includes('/');
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'HEAD':
      return objectPath ? 'HeadObject' : 'HeadBucket';
    case 'GET':
      if (q.has('tagging')) return 'GetObjectTagging';
      if (q.has('uploadId')) return 'ListParts';
      return objectPath ? 'GetObject' : 'ListObjects';
    case 'PUT':
      if (q.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      if (q.has('tagging')) return 'PutObjectTagging';
      if (!objectPath) return 'CreateBucket';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      if (q.has('delete')) return 'DeleteObjects';
      return 'POST';
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      return objectPath ? 'DeleteObject' : 'DeleteBucket';
    default:
      return method;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Starts a rate proxy on a free 127.0.0.1 port that forwards everything to `target` (moto). */
export async function startRateProxy(target: string, initial: RateModel = { mbps: null }): Promise<RateProxy> {
  const targetUrl = new URL(target);
  const hostname = targetUrl.hostname === 'localhost' ? '127.0.0.1' : targetUrl.hostname;
  const origin = performance.now();
  let model = initial;
  let entries: ProxiedRequest[] = [];
  const sizes = new Map<string, Promise<number>>();

  /** Size of the copy source, from one HEAD straight to moto (moto ignores signatures; the credential scope
   * of the copy request's Authorization tells it the account and region). */
  const sourceSize = (value: string, authorization: string | undefined): Promise<number> => {
    let size = sizes.get(value);
    if (size === undefined) {
      const src = parseCopySource(value);
      const path =
        `/${encodeURIComponent(src.bucket)}/${src.key.split('/').map(encodeURIComponent).join('/')}` +
        (src.versionId !== undefined ? `?versionId=${encodeURIComponent(src.versionId)}` : '');
      size = new Promise<number>((resolve, reject) => {
        const head = httpRequest(
          {
            hostname,
            port: targetUrl.port,
            method: 'HEAD',
            path,
            headers: { host: targetUrl.host, ...(authorization ? { authorization } : {}) },
          },
          (res) => {
            res.resume();
            const length = Number(res.headers['content-length']);
            if (res.statusCode === 200 && Number.isFinite(length)) resolve(length);
            else reject(new Error(`HEAD ${path} answered ${res.statusCode}`));
          },
        );
        head.on('error', reject);
        head.end();
      });
      // A failed HEAD is not cached: the next copy of that source asks again.
      size.catch(() => sizes.delete(value));
      sizes.set(value, size);
    }
    return size;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const arrived = performance.now();
    const op = operationOf(req.method ?? '?', req.url ?? '/', req.headers);
    const copySource = req.method === 'PUT' ? header(req, 'x-amz-copy-source') : undefined;
    const current = model;
    const scale = current.timeScale ?? 1;
    // The copy's size, known (range) or to be read (whole object); errors surface as a 502 below.
    let bytes: Promise<number> | undefined;
    let copyKind: 'object' | 'part' | undefined;
    if (copySource !== undefined) {
      const range = rangeBytes(header(req, 'x-amz-copy-source-range'));
      copyKind = range === undefined ? 'object' : 'part';
      bytes = range !== undefined ? Promise.resolve(range) : sourceSize(copySource, header(req, 'authorization'));
      bytes.catch(() => undefined);
    }
    const upstream = httpRequest(
      { hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        if (bytes === undefined) {
          // Not a copy: stream straight through, and log when moto's answer has been passed on.
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.headers);
          upstreamRes.pipe(res);
          upstreamRes.on('end', () => {
            const t = performance.now() - arrived;
            entries.push({
              method: req.method ?? '?',
              op,
              kind: 'other',
              arrivedMs: arrived - origin,
              motoMs: t,
              releasedMs: t,
              motoBound: false,
              status: upstreamRes.statusCode ?? 0,
            });
          });
          return;
        }
        // A copy: its response is small XML; hold it until the modelled release.
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (c: Buffer) => chunks.push(c));
        upstreamRes.on('end', async () => {
          const motoMs = performance.now() - arrived;
          let n: number;
          try {
            n = await bytes!;
          } catch (err) {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(`rate proxy: cannot size the copy source: ${(err as Error).message}`);
            return;
          }
          const modelMs = current.mbps === null ? undefined : (n / (current.mbps * MiB)) * 1000;
          const releaseAt = modelMs === undefined ? 0 : modelMs * scale;
          const wait = Math.max(0, releaseAt - (performance.now() - arrived));
          // Only a successful copy takes the modelled time; an error answers at once.
          const ok = (upstreamRes.statusCode ?? 500) < 300;
          if (ok && wait > 0) await new Promise((r) => setTimeout(r, wait));
          const releasedMs = performance.now() - arrived;
          entries.push({
            method: 'PUT',
            op,
            kind: 'copy',
            copyKind,
            bytes: n,
            ...(modelMs !== undefined ? { modelMs } : {}),
            arrivedMs: arrived - origin,
            motoMs,
            releasedMs,
            // 5 ms of slack for the proxy's own scheduling.
            motoBound: ok && modelMs !== undefined && motoMs > releaseAt + 5,
            status: upstreamRes.statusCode ?? 0,
          });
          if (res.destroyed) return;
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`rate proxy: ${err.message}`);
    });
    req.pipe(upstream);
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 5_000;
  // A modelled copy may be held for minutes: never time the request out here.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://localhost:${port}`,
    configure: (m) => {
      if (m.mbps !== null && !(m.mbps > 0)) throw new Error(`rate must be > 0 MiB/s (given ${m.mbps})`);
      if (m.timeScale !== undefined && !(m.timeScale >= 1)) throw new Error(`timeScale must be >= 1 (${m.timeScale})`);
      model = m;
    },
    log: () => entries,
    reset: () => {
      entries = [];
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
