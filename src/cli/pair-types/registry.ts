/**
 * The CLI's pair-type registry: each type's {@link CliPairDriver} by type. The mapped type makes a pair type
 * without a driver a compile error, and every CLI decision on a pair's type goes through {@link driverOf}.
 */
import type { PairConfig } from '../../../lib/config';
import type { CliPairDriver } from './driver';
import { DYNAMODB_CLI } from './dynamodb';
import { S3_CLI } from './s3';

type PairType = PairConfig['type'];

/** Each pair type's CLI driver. */
export const CLI_PAIR_TYPES: { readonly [K in PairType]: CliPairDriver<Extract<PairConfig, { type: K }>> } = {
  dynamodb: DYNAMODB_CLI,
  s3: S3_CLI,
};

/**
 * The driver of a pair's type. {@link CLI_PAIR_TYPES} pairs each type with the driver of its own config, a
 * correlation TypeScript cannot follow through an index: this is the one cast that restates it.
 */
export function driverOf<P extends PairConfig>(pair: P): CliPairDriver<P> {
  return CLI_PAIR_TYPES[pair.type as PairType] as unknown as CliPairDriver<P>;
}
