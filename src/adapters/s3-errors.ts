/**
 * Classifies object-store failures into Mailgate's error types: network trouble and 5xx are
 * transient (retry), a missing key is permanent, any other 4xx is a permanent refusal.
 */
import { ErrorType } from '../domain/errors';

interface S3LikeError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

export function classifyS3Error(error: unknown): ErrorType {
  const e = (error ?? {}) as S3LikeError;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) return ErrorType.ObjectNotFound;
  if (e.code && NETWORK_CODES.has(e.code)) return ErrorType.ObjectStoreUnavailable;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout' || e.name === 'AbortError') {
    return ErrorType.ObjectStoreUnavailable;
  }
  if (status === undefined || status >= 500 || status === 408 || status === 429) return ErrorType.ObjectStoreUnavailable;
  return ErrorType.ObjectStoreRejected;
}
