/**
 * The CLI's side of DynamoDB pairs: reconcile through the functions' own dependency factory
 * (functions/dynamodb/deps.ts) with the CLI's clients (backfill too), and the demo's table workload and verifier.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { pairResourceNames } from '../../../functions/contract';
import { reconcileDeps, type TableClients } from '../../../functions/dynamodb/deps';
import { runReconcile } from '../../../functions/dynamodb/reconcile';
import { type DynamoPairConfig, targetId } from '../../../lib/config';
import { targetAccountOf } from '../../../lib/pair-types/common-schema';
import { tableTargetsEnv } from '../../../lib/pair-types/dynamodb-schema';
import { clientConfig, localDynamo, targetClientConfig } from '../aws';
import { runAtRate } from '../workload';
import { type CliPairDriver, onlyTargets } from './driver';
import { compareTables, type TableDiff } from './dynamodb-verify';
import { applyOp, type KeyAttribute, makeWorkload } from './dynamodb-workload';

/** The CLI's clients: the caller's credentials, and a target's role (assumed with them) where it has one. */
function cliClients(endpoint: string | undefined, sourceRegion: string): TableClients {
  const sqs = new SQSClient(clientConfig({ region: sourceRegion, endpoint }));
  return {
    dynamo: (t) => new DynamoDBClient(targetClientConfig(t, endpoint)),
    sqs: () => sqs,
  };
}

/** Key attributes of a table, from DescribeTable. */
export async function keySchemaOf(client: DynamoDBClient, table: string): Promise<KeyAttribute[]> {
  const t = (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  const types = new Map((t?.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  const sorted = [...(t?.KeySchema ?? [])].sort((a) => (a.KeyType === 'HASH' ? -1 : 1));
  return sorted.map((k) => ({ name: k.AttributeName!, type: types.get(k.AttributeName) as KeyAttribute['type'] }));
}

/** Compares a table pair's source with each of its targets, item by item (clients straight to the endpoint). */
export async function verifyTablePair(
  cloud: { readonly endpoint: string; readonly config: { readonly sourceRegion: string } },
  pair: DynamoPairConfig,
): Promise<Map<string, TableDiff>> {
  const src = localDynamo(cloud.endpoint, cloud.config.sourceRegion);
  const keys = (await keySchemaOf(src, pair.source.table)).map((k) => k.name);
  const out = new Map<string, TableDiff>();
  await Promise.all(
    pair.targets.map(async (t) => {
      const diff = await compareTables(
        { client: src, table: pair.source.table },
        { client: localDynamo(cloud.endpoint, t.region, targetAccountOf(t)), table: t.table },
        keys,
        pair.filter,
      );
      out.set(targetId(pair, t), diff);
    }),
  );
  return out;
}

/** The CLI driver of DynamoDB pairs. */
export const DYNAMODB_CLI: CliPairDriver<DynamoPairConfig> = {
  kind: 'items',

  async reconcileRunner(pair, o) {
    const deps = await reconcileDeps(
      {
        pair: pair.name,
        sourceRegion: o.sourceRegion,
        sourceTable: pair.source.table,
        targets: onlyTargets(tableTargetsEnv(pair), o.targetIds),
        ...(pair.filter ? { filter: pair.filter } : {}),
        ...(o.queueUrl ? { queueUrl: o.queueUrl } : {}),
        stateRegion: o.sourceRegion,
        stateTable: pairResourceNames(pair.name).stateTable,
        repair: o.repair,
        deleteExtra: o.deleteExtra,
        readRate: o.readRate,
        segments: o.segments,
        // On demand: suspects are re-read at once (the caller chose the moment).
        recheckDelayMs: 0,
        ...(o.mode ? { mode: o.mode } : {}),
        ...(o.itemRate !== undefined ? { itemRate: o.itemRate } : {}),
      },
      cliClients(o.endpoint, o.sourceRegion),
      o.store,
    );
    return (deadlineMs) => runReconcile(deps, { deadlineMs });
  },

  verify: verifyTablePair,

  demo(cloud, pair, size) {
    const src = localDynamo(cloud.endpoint, cloud.config.sourceRegion);
    return {
      name: pair.name,
      kind: 'items',
      targetIds: pair.targets.map((t) => targetId(pair, t)),
      writes: size.ops,
      write: async (onDone) => {
        const ops = makeWorkload({ ops: size.ops, keys: await keySchemaOf(src, pair.source.table) });
        await runAtRate(ops, size.rate, (op) => applyOp(src, pair.source.table, op), { onDone });
      },
      verify: () => verifyTablePair(cloud, pair),
    };
  },
};
