/**
 * Errors with a stable code (like ws's `WS_ERR_*`) and an optional cause. Codes are listed
 * in docs/ARCHITECTURE.md; match on `err.code`, not on messages.
 */
export class AgoraError extends Error {
  override name = 'AgoraError';
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
