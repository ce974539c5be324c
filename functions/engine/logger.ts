/**
 * The functions' Powertools logger, built once per container. Logs never carry item payloads: only pair,
 * counts, keys' hashes and error reasons.
 */
import { Logger } from '@aws-lambda-powertools/logger';

/** The function's logger. */
export const logger = new Logger();
