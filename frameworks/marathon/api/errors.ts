/**
 * Marathon's error answers (mesosphere/marathon api/MarathonExceptionMapper.scala and
 * api/RestResource.scala): every failure becomes a status code and a small JSON body with
 * a `message`, exactly as Marathon 1.10 writes it.
 *
 * @module
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { MarathonError, type MarathonErrorKind } from '../service.js';
import type { PathId, Timestamp } from '../model/types.js';

/** An error the HTTP layer answers directly with `status` and `body` (a JSON object). */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

/** Status codes of the service's error kinds (MarathonExceptionMapper). */
export const STATUS_OF_KIND: Record<MarathonErrorKind, number> = {
  'invalid-json': 400,
  'bad-request': 400,
  validation: 422,
  'not-found': 404,
  conflict: 409,
  locked: 409,
  unavailable: 503,
};

/** `App '/x' does not exist` (RestResource.unknownApp), optionally `in version v`. */
export function unknownApp(id: PathId, version?: Timestamp): HttpError {
  return new HttpError(404, { message: `App '${id}' does not exist${version !== undefined ? ` in version ${version}` : ''}` });
}

/** `Group '/x' does not exist` (RestResource.unknownGroup). */
export function unknownGroup(id: PathId, version?: Timestamp): HttpError {
  return new HttpError(404, { message: `Group '${id}' does not exist${version !== undefined ? ` in version ${version}` : ''}` });
}

/** `Task 'id' does not exist` (RestResource.unknownTask). */
export function unknownTask(id: string): HttpError {
  return new HttpError(404, { message: `Task '${id}' does not exist` });
}

/** 422 `Object is not valid` with Marathon's validation details (Validation.scala failure writes). */
export function invalidObject(details: Array<{ path: string; errors: string[] }>, message = 'Object is not valid'): HttpError {
  return new HttpError(422, { message, details });
}

/** 400 with a message (BadRequestException). */
export function badRequest(message: string): HttpError {
  return new HttpError(400, { message });
}

/** Status and body for any error thrown by a handler or by the service. */
export function errorResponse(err: unknown): { status: number; body: Record<string, unknown> } {
  if (err instanceof HttpError) return { status: err.status, body: err.body };
  if (err instanceof MarathonError) {
    const status = STATUS_OF_KIND[err.kind] ?? 500;
    switch (err.kind) {
      case 'validation':
        return { status, body: { message: err.message || 'Object is not valid', details: err.details ?? [] } };
      case 'invalid-json':
        return { status, body: { message: 'Invalid JSON', details: err.details ?? err.message } };
      case 'locked':
        return { status, body: { message: err.message, deployments: (err.deployments ?? []).map((id) => ({ id })) } };
      default:
        return { status, body: err.details !== undefined ? { message: err.message, details: err.details } : { message: err.message } };
    }
  }
  // body-parser's errors (express.raw): payload too large, aborted, bad encoding.
  const e = err as { status?: number; type?: string; message?: string };
  if (e?.type === 'entity.too.large') return { status: 413, body: { message: 'Request Entity Too Large' } };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, body: { message: e.message ?? 'Bad Request' } };
  return { status: 500, body: { message: (err as Error)?.message ?? String(err) } };
}

/** The express error handler: logs 5xx, answers in Marathon's shape. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const { status, body } = errorResponse(err);
    if (status >= 500) logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    else logger.debug({ status, method: req.method, url: req.originalUrl, message: body.message }, 'request rejected');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json(body);
  };
}
