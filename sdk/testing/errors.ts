/**
 * The error codes of the test kit. Each is an {@link AgoraError} code; match on `err.code`.
 *
 * | code | when |
 * |---|---|
 * | `AGORA_TESTING_BAD_OPTIONS` | `TestCluster.create` or `new VirtualClock` got a bad option |
 * | `AGORA_TESTING_BAD_INPUT` | a method got a bad argument (negative time, unknown slave index, …) |
 * | `AGORA_TESTING_TIMEOUT` | `waitFor` ran out of (virtual or wall) time; the message names the condition |
 * | `AGORA_TESTING_LIVELOCK` | `runUntilIdle` kept finding work after its step limit |
 * | `AGORA_TESTING_CLOSED` | the cluster (or clock) was used after `close()` |
 *
 * @module
 */
export const TESTING_BAD_OPTIONS = 'AGORA_TESTING_BAD_OPTIONS';
export const TESTING_BAD_INPUT = 'AGORA_TESTING_BAD_INPUT';
export const TESTING_TIMEOUT = 'AGORA_TESTING_TIMEOUT';
export const TESTING_LIVELOCK = 'AGORA_TESTING_LIVELOCK';
export const TESTING_CLOSED = 'AGORA_TESTING_CLOSED';
