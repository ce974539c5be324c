/**
 * The dependencies of DynamoDB pairs' functions, built in one place: from the function's environment (the
 * contract's variables) for the handlers, and from the same settings for the CLI (`replicator reconcile`),
 * which brings its own clients and checkpoint store.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type ClientTarget, ENV, type TableTargetEnv } from '../contract';
import type { CaptureSink } from '../engine/capture';
import type { CheckpointStore } from '../engine/checkpoint';
import { dynamoClient, type Env, jsonEnv, numberEnv, optionalEnv, requiredEnv, sqsClient } from '../engine/clients';
import type { MessageHandlerOptions } from '../engine/message-handler';
import {
  applierSettings,
  captureSettings,
  type ReconcileSettings,
  readBudgetOf,
  reconcileSettingsFromEnv,
  repairEnqueuer,
  runModeOf,
} from '../engine/settings';
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
  // Only SQS, not lambdaClients: capture's bundle then carries no other SDK client.
  clients: Pick<TableClients, 'sqs'> = { sqs: sqsClient },
): { options: CaptureOptions; sink: CaptureSink } {
  const { settings, sink } = captureSettings(env, clients.sqs());
  return { options: { ...settings, filter: filterOf(env) }, sink };
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
    ...applierSettings(env, clients.sqs()),
    targets,
    parse: parseTableBody,
    apply: (envelopes, only) => applyEnvelopes(envelopes, only, deps),
  };
}

/** What a table pair's reconcile is set to do (from the function's environment, or the CLI's config). */
export interface TableReconcileSettings extends ReconcileSettings {
  readonly sourceTable: string;
  readonly targets: readonly TableTargetEnv[];
  readonly filter?: AttributeFilter;
  /** Parallel scan segments per table. */
  readonly segments: number;
}

/** The reconcile function's settings, from its environment. */
export function reconcileSettings(env: Env = process.env): TableReconcileSettings {
  return {
    ...reconcileSettingsFromEnv(env),
    sourceTable: requiredEnv(ENV.SOURCE_TABLE, env),
    targets: jsonEnv<TableTargetEnv[]>(ENV.TARGETS, env),
    filter: filterOf(env),
    segments: numberEnv(ENV.SEGMENTS, 4, env),
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
  const enqueue = repairEnqueuer(s, clients.sqs);
  return {
    pair: s.pair,
    origin: s.sourceRegion,
    keyNames: await keyNamesOf(sourceClient, s.sourceTable),
    ...(s.filter ? { filter: s.filter } : {}),
    source: new DynamoTableReader(sourceClient, s.sourceTable),
    targets: s.targets.map((t) => ({ id: t.id, reader: new DynamoTableReader(clients.dynamo(t), t.table) })),
    store,
    tombstones: new TableTombstoneStore(clients.dynamo({ region: s.stateRegion }), s.stateTable),
    ...readBudgetOf(s),
    ...runModeOf(s, { shards: s.segments, maxPageSize: 500 }),
    totalSegments: s.segments,
    repair: s.repair,
    deleteExtra: s.deleteExtra,
    ...(enqueue ? { enqueue } : {}),
    recheckDelayMs: s.recheckDelayMs,
  };
}
