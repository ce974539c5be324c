/**
 * The dependencies of DynamoDB pairs' functions, built in one place: from the function's environment (the
 * contract's variables) for the handlers, and from the same settings for the CLI (`replicator reconcile`),
 * which brings its own clients and checkpoint store.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type ClientTarget, ENV, type TableTargetEnv } from '../contract';
import { ReadBudget } from '../engine/budget';
import type { CaptureSink } from '../engine/capture';
import type { CheckpointStore } from '../engine/checkpoint';
import { dynamoClient, type Env, jsonEnv, numberEnv, optionalEnv, requiredEnv, sqsClient } from '../engine/clients';
import type { MessageHandlerOptions } from '../engine/message-handler';
import { enqueueRepairs } from '../engine/queue';
import { applyEnvelopes, type TableTarget } from './apply';
import type { AttributeFilter } from './attributes';
import type { CaptureOptions } from './capture';
import { parseTableBody, type TableEnvelope } from './envelope';
import { DynamoTableReader } from './reader';
import type { ReconcileDeps } from './reconcile';
import { DynamoSourceReader, DynamoTargetStore, TableTombstoneStore } from './store';

/** The SDK clients the functions use: per region (and target role), plus SQS in the function's region. */
export interface TableClients {
  dynamo(target: ClientTarget): DynamoDBClient;
  sqs(): SQSClient;
}

/** Lambda's clients: cached per container, a target's role assumed with its external id. */
export const lambdaClients: TableClients = { dynamo: dynamoClient, sqs: sqsClient };

function filterOf(env: Env): AttributeFilter | undefined {
  return optionalEnv(ENV.FILTER, env) === undefined ? undefined : jsonEnv<AttributeFilter>(ENV.FILTER, env);
}

/** Capture's options and where it sends. */
export function captureDeps(
  env: Env = process.env,
  clients: TableClients = lambdaClients,
): { options: CaptureOptions; sink: CaptureSink } {
  const options: CaptureOptions = {
    pair: requiredEnv(ENV.PAIR_NAME, env),
    origin: requiredEnv(ENV.ORIGIN_REGION, env),
    filter: filterOf(env),
    envelopesPerMessage: numberEnv(ENV.ENVELOPES_PER_MESSAGE, 25, env),
  };
  return { options, sink: { sqs: clients.sqs(), queueUrl: requiredEnv(ENV.QUEUE_URL, env), pack: options } };
}

/** The apply function's message handler options: its targets, stores and queues. */
export function applyDeps(
  env: Env = process.env,
  clients: TableClients = lambdaClients,
): MessageHandlerOptions<TableEnvelope, TableTarget> {
  const targets: TableTarget[] = jsonEnv<TableTargetEnv[]>(ENV.TARGETS, env).map((t) => ({
    id: t.id,
    store: new DynamoTargetStore(clients.dynamo(t), t.table),
  }));
  const deps = {
    tombstones: new TableTombstoneStore(
      clients.dynamo({ region: requiredEnv('AWS_REGION', env) }),
      requiredEnv(ENV.STATE_TABLE, env),
    ),
    source: new DynamoSourceReader(
      clients.dynamo({ region: requiredEnv(ENV.SOURCE_REGION, env) }),
      requiredEnv(ENV.SOURCE_TABLE, env),
    ),
    filter: filterOf(env),
  };
  return {
    pair: requiredEnv(ENV.PAIR_NAME, env),
    queueUrl: requiredEnv(ENV.QUEUE_URL, env),
    dlqUrl: requiredEnv(ENV.DLQ_URL, env),
    maxAttempts: numberEnv(ENV.MAX_ATTEMPTS, 5, env),
    targets,
    sqs: clients.sqs(),
    parse: parseTableBody,
    apply: (envelopes, only) => applyEnvelopes(envelopes, only, deps),
  };
}

/** What a table pair's reconcile is set to do (from the function's environment, or the CLI's config). */
export interface TableReconcileSettings {
  readonly pair: string;
  readonly sourceRegion: string;
  readonly sourceTable: string;
  readonly targets: readonly TableTargetEnv[];
  readonly filter?: AttributeFilter;
  /** The pair queue, where repairs go; required with `repair`. */
  readonly queueUrl?: string;
  readonly repair: boolean;
  readonly deleteExtra: boolean;
  /** Read capacity units per second over the whole run. */
  readonly readRate: number;
  readonly segments: number;
  /** Wait before re-reading suspects, so writes already in the pair queue can land. */
  readonly recheckDelayMs: number;
}

/** The reconcile function's settings, from its environment. */
export function reconcileSettings(env: Env = process.env): TableReconcileSettings {
  return {
    pair: requiredEnv(ENV.PAIR_NAME, env),
    sourceRegion: requiredEnv(ENV.SOURCE_REGION, env),
    sourceTable: requiredEnv(ENV.SOURCE_TABLE, env),
    targets: jsonEnv<TableTargetEnv[]>(ENV.TARGETS, env),
    filter: filterOf(env),
    queueUrl: requiredEnv(ENV.QUEUE_URL, env),
    repair: optionalEnv(ENV.REPAIR, env) === 'true',
    deleteExtra: optionalEnv(ENV.DELETE_EXTRA, env) === 'true',
    readRate: numberEnv(ENV.READ_RATE, 100, env),
    segments: numberEnv(ENV.SEGMENTS, 4, env),
    recheckDelayMs: numberEnv(ENV.RECHECK_DELAY_MS, 5000, env),
  };
}

const keySchemas = new WeakMap<DynamoDBClient, Map<string, Promise<string[]>>>();

/**
 * A table's key attribute names, described once per client and table (an imported table's too). A failed
 * describe is retried by the next call rather than cached.
 */
export function keyNamesOf(client: DynamoDBClient, table: string): Promise<string[]> {
  let byTable = keySchemas.get(client);
  if (!byTable) {
    byTable = new Map();
    keySchemas.set(client, byTable);
  }
  const cache = byTable;
  let names = cache.get(table);
  if (!names) {
    names = client.send(new DescribeTableCommand({ TableName: table })).then((res) => {
      const found = (res.Table?.KeySchema ?? []).flatMap((k) => (k.AttributeName ? [k.AttributeName] : []));
      if (found.length === 0) throw new Error(`DescribeTable of ${table} returned no key schema`);
      return found;
    });
    cache.set(table, names);
    names.catch(() => cache.delete(table));
  }
  return names;
}

/** A table pair's reconcile dependencies: readers, budget, repairs through the pair queue. */
export async function reconcileDeps(
  s: TableReconcileSettings,
  clients: TableClients,
  store: CheckpointStore,
): Promise<ReconcileDeps> {
  const sourceClient = clients.dynamo({ region: s.sourceRegion });
  const { queueUrl } = s;
  return {
    pair: s.pair,
    origin: s.sourceRegion,
    keyNames: await keyNamesOf(sourceClient, s.sourceTable),
    ...(s.filter ? { filter: s.filter } : {}),
    source: new DynamoTableReader(sourceClient, s.sourceTable),
    targets: s.targets.map((t) => ({ id: t.id, reader: new DynamoTableReader(clients.dynamo(t), t.table) })),
    store,
    budget: new ReadBudget({ readRate: s.readRate }),
    totalSegments: s.segments,
    repair: s.repair,
    deleteExtra: s.deleteExtra,
    ...(queueUrl
      ? {
          enqueue: async (envelopes: readonly TableEnvelope[]) => {
            await enqueueRepairs(clients.sqs(), queueUrl, envelopes, { pair: s.pair });
          },
        }
      : {}),
    recheckDelayMs: s.recheckDelayMs,
  };
}
