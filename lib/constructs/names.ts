/**
 * CDK-side naming helpers: stable construct ids from config names, and DynamoDB key attributes from the
 * config's `name:TYPE` form. Physical resource and stack names are the contract's (`functions/contract.ts`:
 * `pairResourceNames`, `sourceStackName`, `targetStackName`), shared with the functions and the CLI.
 */
import { type Attribute, AttributeType } from 'aws-cdk-lib/aws-dynamodb';

/** A stable PascalCase construct id from a kebab/snake/dotted name (`orders-replica` → `OrdersReplica`). */
export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

const ATTRIBUTE_TYPES: Record<string, AttributeType> = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
};

/** A DynamoDB key attribute from the config's `name:TYPE` form (`pk:S` → `{ name: 'pk', type: STRING }`). */
export function keyAttribute(spec: string): Attribute {
  // The name itself may contain ':', so split at the last one.
  const at = spec.lastIndexOf(':');
  const type = ATTRIBUTE_TYPES[spec.slice(at + 1)];
  if (at <= 0 || type === undefined) {
    throw new Error(`Key attribute must be "name:TYPE" with TYPE one of S, N, B (given "${spec}")`);
  }
  return { name: spec.slice(0, at), type };
}
