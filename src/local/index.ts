/** The local cloud and the local runtime: re-exports only. */
export * from './alarms';
export * from './counting-proxy';
export * from './deploy';
export * from './discovery';
export * from './emf';
export * from './event-filter';
export * from './function-pool';
export * from './moto';
export * from './pollers';
export * from './runtime';
export * from './s3-buckets';
