/**
 * The one place errors become responses: `{ error: { code, message } }` with a
 * code from the protocol's catalogue. Client mistakes map to 4xx by what went
 * wrong (validation, JSON, size, media type, truncation); only a genuine server
 * fault is a 500, and that one is logged.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ApiErrors, type ApiErrorCode } from '@buildmesh/protocol';
import { isDatabaseUnavailable } from '../store/unavailable.js';
import { isIncompleteBodyError } from './body-errors.js';
import { describeIssues, type ValidationIssue } from './validate.js';

/** Fastify's own error codes that are the client's doing. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BODY_INCOMPLETE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'BAD_REQUEST',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_INVALID_JSON_FIELD_ERROR: 'MALFORMED_JSON',
  FST_PROTO_VIOLATION: 'BAD_REQUEST',
  FST_PARTS_LIMIT: 'BAD_REQUEST',
  FST_FILES_LIMIT: 'BAD_REQUEST',
  FST_FIELDS_LIMIT: 'BAD_REQUEST',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_MP_PREMATURE_CLOSE: 'BODY_INCOMPLETE',
};

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'BODY_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
};

function describeValidation(error: FastifyError): string {
  return describeIssues(error.validationContext ?? 'request', (error.validation ?? []) as ValidationIssue[]);
}

/** Any thrown value → the catalogue error to answer with. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isDatabaseUnavailable(error)) return new ApiError('DATABASE_UNAVAILABLE');
  const e = error as Partial<FastifyError> & { status?: number };
  if (e && typeof e === 'object') {
    if (e.validation) return new ApiError('VALIDATION_FAILED', describeValidation(e as FastifyError));
    if (e.code && FASTIFY_CODES[e.code]) return new ApiError(FASTIFY_CODES[e.code]!);
    if (error instanceof SyntaxError && e.statusCode === 400) return new ApiError('MALFORMED_JSON');
    if (isIncompleteBodyError(error)) return new ApiError('BODY_INCOMPLETE');
    const status = e.statusCode ?? e.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return new ApiError(STATUS_CODES[status] ?? 'BAD_REQUEST', typeof e.message === 'string' ? e.message : undefined);
    }
  }
  return new ApiError('INTERNAL');
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const apiError = toApiError(error);
  if (apiError.code === 'DATABASE_UNAVAILABLE') {
    request.log.warn({ err: error, method: request.method, url: request.routeOptions.url ?? request.url }, 'database unavailable; answered 503');
  } else if (apiError.status >= 500 && apiError.code !== 'SHUTTING_DOWN') {
    request.log.error({ err: error, method: request.method, url: request.routeOptions.url ?? request.url }, 'request failed');
  }
  if (reply.sent || reply.raw.headersSent) return;
  // A stalled client will not finish its body: close. Other early answers keep the connection and
  // discard the rest of the body for a moment (body-guard.ts), so a client still sending reads the
  // answer instead of a reset. (Fastify asks for a close after a body parse error; we linger instead.)
  if (apiError.code === 'BODY_TIMEOUT') reply.header('connection', 'close');
  else if (!request.raw.complete && apiError.code !== 'SHUTTING_DOWN') reply.removeHeader('connection');
  // The reply may already carry headers meant for a success (a download's content-length).
  reply.removeHeader('content-length');
  reply.removeHeader('content-disposition');
  if (apiError.code !== 'RANGE_NOT_SATISFIABLE') reply.removeHeader('content-range');
  void reply.code(apiError.status).type('application/json; charset=utf-8').send(JSON.stringify(apiError.toBody()));
}

export function notFound(request: FastifyRequest, reply: FastifyReply): void {
  sendError(new ApiError('NOT_FOUND', 'No such route.'), request, reply);
}

export const ERROR_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: Object.keys(ApiErrors) },
        message: { type: 'string' },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;
