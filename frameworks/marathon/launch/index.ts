/**
 * Marathon's launch decisions, pure: offer matching, constraints, launch backoff, kill order.
 * See README.md in this folder.
 *
 * @module
 */
export {
  matchOffer, requestedHostPorts, NO_MATCH_REASONS,
  type NoMatchReason, type MatchOfferOptions, type MatchOfferResult,
} from './match-offer.js';
export { matchPorts, type PortsMatch } from './ports.js';
export {
  constraintSatisfied, constraintErrors, attributeString, attributesToStrings,
  CONSTRAINT_OPERATORS, CONSTRAINT_MESSAGES,
  type ConstraintOperator, type ConstraintOffer, type PlacedInstance,
} from './constraints.js';
export {
  backoffAfterFailure, launchDelayRemainingMs, backoffDeadlineMs, backoffKey, isBackoffOverdue, queueDelay,
  type BackoffState,
} from './backoff.js';
// Kill order lives with the planner; re-exported for the launch queue's convenience.
export { selectInstancesToKill, killOrder } from '../plan/kill-selection.js';
