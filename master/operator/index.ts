/** The master's operator HTTP API: the router and its pure renderers. */
export * from './router.js';
export * from './render-state.js';
export * from './render-summary.js';
export * from './render-tasks.js';
export * from './render-metrics.js';
export * from './render-resources.js';
export * from './render-version.js';
export * from './format.js';
