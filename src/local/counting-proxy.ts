/**
 * An HTTP proxy in front of the local cloud that counts AWS requests by `service:Action`, so benchmarks
 * and the demo can report requests per replicated item (a property of the design, unlike local
 * throughput, which is a property of moto).
 *
 * Requests are forwarded unchanged, Host header included: moto does not verify SigV4 signatures, and it
 * builds URLs it returns (SQS queue URLs) from the Host header, so clients keep talking to the proxy.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { motoChecksCopyConditions } from './moto';
import { S3ConditionGate, type S3CopyConditions } from './s3-conditions';

/** A running counting proxy. */
export interface CountingProxy {
  /** `http://localhost:PORT`: use it as the AWS endpoint instead of the target's. */
  readonly endpoint: string;
  /** Requests counted so far, by `service:Action` (e.g. `dynamodb:PutItem`, `sqs:SendMessageBatch`, `s3:GET`). */
  counts(): Record<string, number>;
  /** Sets every count back to zero. */
  reset(): void;
  /** Sum of all counts. */
  total(): number;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
  /**
   * Injects faults: every request is shown to `rule` (its service and region from the SigV4 credential scope)
   * before it is forwarded, and what the rule returns happens instead. `undefined` stops injecting.
   */
  setFaults(rule: FaultRule | undefined): void;
  /** Faults injected so far, by kind (`reset`, `status 503`, `delay`). */
  faultCounts(): Record<string, number>;
  /**
   * Shows every forwarded request, once answered, to `observer` (e.g. a recorder of the calls IAM will
   * authorize); `undefined` stops. Bodies are kept only where they say what a request does: JSON and form
   * requests, and STS responses.
   */
  setObserver(observer: RequestObserver | undefined): void;
}

/** A forwarded request and its answer, as an observer sees them. */
export interface ObservedExchange {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body of a JSON (X-Amz-Target) or form request. */
  readonly body?: string;
  readonly status: number;
  /** The body of an STS response. */
  readonly responseBody?: string;
}

/** Sees each forwarded request once it is answered. */
export type RequestObserver = (exchange: ObservedExchange) => void;

/** What a fault rule sees of a request. */
export interface RequestInfo {
  /** SigV4 service (`dynamodb`, `s3`, `sqs`, …), when signed. */
  readonly service: string | undefined;
  /** SigV4 region, when signed. */
  readonly region: string | undefined;
  /** Whether it speaks a JSON protocol (X-Amz-Target): its errors are JSON, else XML. */
  readonly json: boolean;
  /** The access key it is signed with (on the local cloud, each function's own: `localAccessKeyId`). */
  readonly accessKeyId?: string;
}

/** A fault to inject instead of (or before) forwarding a request. */
export type Fault =
  /** The connection is reset: no response at all. */
  | { readonly kind: 'reset' }
  /** An error response in the protocol's own shape (JSON `__type`, or S3/query XML `<Code>`). */
  | { readonly kind: 'status'; readonly status: number; readonly code: string; readonly message?: string }
  /** The request is forwarded after a delay. */
  | { readonly kind: 'delay'; readonly ms: number };

/** Decides the fault of a request, or none. */
export type FaultRule = (request: RequestInfo) => Fault | undefined;

/** Service names by the X-Amz-Target prefix (JSON protocols). */
const TARGET_PREFIXES: Record<string, string> = {
  DynamoDB_20120810: 'dynamodb',
  DynamoDBStreams_20120810: 'dynamodbstreams',
  AmazonSQS: 'sqs',
  GraniteServiceVersion20100801: 'monitoring',
  AWSEvents: 'events',
  Logs_20140328: 'logs',
  AmazonSSM: 'ssm',
  AWSStepFunctions: 'states',
  Kinesis_20131202: 'kinesis',
  AmazonEventBridgeScheduler: 'scheduler',
};

/**
 * The `service:Action` of a request: from X-Amz-Target (`DynamoDB_20120810.PutItem` → `dynamodb:PutItem`),
 * else the `Action=` of the query or form body (service from the SigV4 credential scope), else the HTTP
 * method for REST services (`s3:GET`, `lambda:POST`).
 */
export function classifyRequest(
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): string {
  const target = header(headers, 'x-amz-target');
  const service = credentialScope(header(headers, 'authorization'))?.service ?? guessService(url);
  if (target !== undefined) {
    const [prefix, action] = target.split('.');
    const name = (prefix !== undefined ? TARGET_PREFIXES[prefix] : undefined) ?? service ?? prefix ?? 'unknown';
    return `${name}:${action ?? target}`;
  }
  const query = new URL(url, 'http://x').searchParams.get('Action');
  const form = header(headers, 'content-type')?.includes('application/x-www-form-urlencoded')
    ? new URLSearchParams(body).get('Action')
    : null;
  const action = query ?? form;
  if (action !== null) return `${service ?? 'unknown'}:${action}`;
  return `${service ?? 'unknown'}:${method.toUpperCase()}`;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The access key, region and service of a SigV4 `Credential=AKID/DATE/REGION/SERVICE/aws4_request`. */
export function credentialScope(
  authorization: string | undefined,
): { accessKeyId: string; region: string; service: string } | undefined {
  const m = /Credential=([^/]+)\/[^/]+\/([^/]+)\/([^/]+)\//.exec(authorization ?? '');
  return m ? { accessKeyId: m[1]!, region: m[2]!, service: m[3]! } : undefined;
}

function guessService(url: string): string | undefined {
  // Presigned URLs carry the credential in the query.
  const credential = new URL(url, 'http://x').searchParams.get('X-Amz-Credential');
  return credential?.split('/')[3];
}

/** How a counting proxy forwards. */
export interface CountingProxyOptions {
  /**
   * The copy conditions moto ignores (target If-Match / If-None-Match, `x-amz-copy-source-if-match`):
   * checked by the proxy as S3 does, or passed on to moto as they are (see s3-conditions.ts).
   * @default 'enforce'
   */
  readonly s3CopyConditions?: S3CopyConditions;
}

/**
 * Starts a counting proxy on a free 127.0.0.1 port that forwards everything to `target`. Copy conditions are
 * checked by moto when it was started with the hook that does it (asked at start), else by the proxy's own HEADs,
 * which are S3's own work in AWS: they are not counted.
 */
export async function startCountingProxy(target: string, options: CountingProxyOptions = {}): Promise<CountingProxy> {
  const targetUrl = new URL(target);
  const gate = new S3ConditionGate(
    targetUrl,
    options.s3CopyConditions ?? 'enforce',
    await motoChecksCopyConditions(target),
  );
  const counts = new Map<string, number>();
  const injected = new Map<string, number>();
  let rule: FaultRule | undefined;
  const tap: { observer?: RequestObserver } = {};
  const server = createServer((req, res) => {
    const scope = credentialScope(header(req.headers, 'authorization'));
    const fault = rule?.({
      service: scope?.service,
      region: scope?.region,
      json: header(req.headers, 'x-amz-target') !== undefined,
      ...(scope?.accessKeyId ? { accessKeyId: scope.accessKeyId } : {}),
    });
    const send = () =>
      void gate
        .handle(
          req,
          res,
          scope?.service,
          () => forward(req, res, targetUrl, counts, tap.observer),
          () => {
            const key = classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers, '');
            counts.set(key, (counts.get(key) ?? 0) + 1);
          },
        )
        .catch(() => res.destroy());
    if (fault === undefined) {
      send();
      return;
    }
    const kind = fault.kind === 'status' ? `status ${fault.status}` : fault.kind;
    injected.set(kind, (injected.get(kind) ?? 0) + 1);
    inject(fault, req, res, send);
  });
  // SDK clients keep connections alive; without this, stop() would wait for them.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://localhost:${port}`,
    counts: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
    reset: () => counts.clear(),
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    setFaults: (r) => {
      rule = r;
    },
    faultCounts: () => Object.fromEntries(injected),
    setObserver: (o) => {
      tap.observer = o;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Injects a fault: resets the connection, answers an error in the request's protocol, or forwards late. */
function inject(fault: Fault, req: IncomingMessage, res: ServerResponse, forwardNow: () => void): void {
  if (fault.kind === 'delay') {
    setTimeout(forwardNow, fault.ms);
    return;
  }
  // Read the request first, as a server would before it answers or drops it.
  req.resume();
  req.on('end', () => {
    if (fault.kind === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    const message = fault.message ?? 'injected by the local fault proxy';
    const json = header(req.headers, 'x-amz-target') !== undefined;
    const body = json
      ? JSON.stringify({ __type: fault.code, message })
      : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>${message}</Message></Error>`;
    res.writeHead(fault.status, {
      'content-type': json ? 'application/x-amz-json-1.0' : 'application/xml',
      'x-amzn-errortype': fault.code,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
}

/** Forwards `req` to `target`; resolves once the answer has been passed on (or the exchange failed). */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  counts: Map<string, number>,
  observer?: RequestObserver,
): Promise<void> {
  return new Promise((done) => {
    res.once('close', () => done());
    forwardNow(req, res, target, counts, observer);
  });
}

function forwardNow(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  counts: Map<string, number>,
  observer?: RequestObserver,
): void {
  const chunks: Buffer[] = [];
  // Only form bodies are needed for classification (and JSON bodies by an observer); everything is streamed to
  // the target as it comes.
  const json = req.headers['x-amz-target'] !== undefined;
  const form = !json && (req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
  const needsBody = form || (json && observer !== undefined);
  const sts = observer !== undefined && credentialScope(header(req.headers, 'authorization'))?.service === 'sts';
  const upstream = httpRequest(
    {
      protocol: target.protocol,
      hostname: target.hostname === 'localhost' ? '127.0.0.1' : target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.headers);
      upstreamRes.pipe(res);
      if (observer === undefined) return;
      const answer: Buffer[] = [];
      if (sts) upstreamRes.on('data', (chunk: Buffer) => answer.push(chunk));
      upstreamRes.on('end', () => {
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
        observer({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers,
          ...(needsBody ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
          status: upstreamRes.statusCode ?? 0,
          ...(sts ? { responseBody: Buffer.concat(answer).toString('utf8') } : {}),
        });
      });
    },
  );
  // A reset or refusal upstream is passed on as what it is: the client's connection is reset too, as it would be
  // without the proxy. A made-up 502 with a text body would reach the SDK as a parse error of that text.
  upstream.on('error', () => {
    req.unpipe(upstream);
    res.destroy();
  });
  req.on('data', (chunk: Buffer) => {
    if (needsBody) chunks.push(chunk);
  });
  req.on('end', () => {
    const key = classifyRequest(
      req.method ?? 'GET',
      req.url ?? '/',
      req.headers,
      Buffer.concat(chunks).toString('utf8'),
    );
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  req.pipe(upstream);
}
