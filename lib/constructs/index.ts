export * from './monitoring';
export * from './names';
export * from './pair-queue';
export * from './replicator-function';
export * from './table-pair';
export * from './target-table';
