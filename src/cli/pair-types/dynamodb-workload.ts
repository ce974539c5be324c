/**
 * A reproducible DynamoDB workload: puts, updates and deletes over a pool of keys, with the values that
 * trip replicators (unicode keys, sets, nested maps, binary, an item near DynamoDB's 400 KB limit).
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { prng } from '../workload';

/** A table's key attribute: name and type. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

/** One write of the workload. */
export type WorkloadOp =
  | { readonly kind: 'put'; readonly item: Record<string, AttributeValue> }
  | { readonly kind: 'update'; readonly key: Record<string, AttributeValue> }
  | { readonly kind: 'delete'; readonly key: Record<string, AttributeValue> };

const ODD_STRINGS = ['ünïcödé ✓', '键 値 🔑', 'a b+c%20d/e', 'line\nbreak', 'tab\there'];

function keyValue(attr: KeyAttribute, i: number): AttributeValue {
  if (attr.type === 'N') return { N: String(i) };
  if (attr.type === 'B') return { B: Buffer.from(`key-${i}`) };
  // Every seventh key is an odd string, so unicode and separators travel the whole path.
  return { S: i % 7 === 3 ? `${ODD_STRINGS[i % ODD_STRINGS.length]}#${i}` : `user-${String(i).padStart(5, '0')}` };
}

/** The key of pool entry i. */
export function keyFor(keys: readonly KeyAttribute[], i: number): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  keys.forEach((k, j) => {
    out[k.name] = keyValue(k, j === 0 ? i : i % 3);
  });
  return out;
}

function itemFor(
  keys: readonly KeyAttribute[],
  i: number,
  rnd: () => number,
  big: boolean,
): Record<string, AttributeValue> {
  return {
    ...keyFor(keys, i),
    name: { S: `${ODD_STRINGS[Math.floor(rnd() * ODD_STRINGS.length)]} ${Math.floor(rnd() * 1e6)}` },
    qty: { N: String(Math.floor(rnd() * 1000)) },
    price: { N: (rnd() * 100).toFixed(2) },
    tags: { SS: ['gpu', 'eu', `t${Math.floor(rnd() * 5)}`] },
    dims: { M: { h: { N: '224' }, w: { N: '224' }, meta: { L: [{ S: 'x' }, { BOOL: rnd() > 0.5 }, { NULL: true }] } } },
    blob: { B: Buffer.from(Array.from({ length: 16 }, () => Math.floor(rnd() * 256))) },
    ...(big ? { payload: { S: 'x'.repeat(390_000) } } : {}),
  };
}

/** Options of {@link makeWorkload}. */
export interface WorkloadOptions {
  readonly ops: number;
  readonly keys: readonly KeyAttribute[];
  /** Distinct keys touched. @default - a quarter of the ops, at least 10 */
  readonly keyPool?: number;
  readonly seed?: number;
  /** Include one item near DynamoDB's 400 KB limit (it travels as a fetch envelope). @default true */
  readonly bigItem?: boolean;
}

/** Builds the workload: about 55% puts, 25% updates, 20% deletes; updates and deletes hit written keys. */
export function makeWorkload(opts: WorkloadOptions): WorkloadOp[] {
  const rnd = prng(opts.seed ?? 42);
  const pool = opts.keyPool ?? Math.max(10, Math.floor(opts.ops / 4));
  const written = new Set<number>();
  const ops: WorkloadOp[] = [];
  const bigAt = opts.bigItem === false ? -1 : Math.floor(opts.ops / 2);
  for (let n = 0; n < opts.ops; n++) {
    const i = Math.floor(rnd() * pool);
    const r = rnd();
    if (n === bigAt) {
      ops.push({ kind: 'put', item: itemFor(opts.keys, pool, rnd, true) });
    } else if (!written.has(i) || r < 0.55) {
      ops.push({ kind: 'put', item: itemFor(opts.keys, i, rnd, false) });
      written.add(i);
    } else if (r < 0.8) {
      ops.push({ kind: 'update', key: keyFor(opts.keys, i) });
    } else {
      ops.push({ kind: 'delete', key: keyFor(opts.keys, i) });
      written.delete(i);
    }
  }
  return ops;
}

/** Sends one workload write to a table. */
export async function applyOp(client: DynamoDBClient, table: string, op: WorkloadOp): Promise<void> {
  if (op.kind === 'put') await client.send(new PutItemCommand({ TableName: table, Item: op.item }));
  else if (op.kind === 'delete') await client.send(new DeleteItemCommand({ TableName: table, Key: op.key }));
  else
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: op.key,
        UpdateExpression: 'SET qty = if_not_exists(qty, :zero) + :one, updatedAt = :now ADD tags :tag',
        ExpressionAttributeValues: {
          ':zero': { N: '0' },
          ':one': { N: '1' },
          ':now': { N: String(Date.now()) },
          ':tag': { SS: ['updated'] },
        },
      }),
    );
}
