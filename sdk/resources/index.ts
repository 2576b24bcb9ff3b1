/**
 * Resource arithmetic shared by master, slave, Marathon and the SDK: parsing and formatting
 * `--resources`/`--attributes`, add/subtract/contains per identity (role, reservations,
 * allocation), 3-decimal fixed-point scalars, ranges and sets, and host detection.
 *
 * @module
 */
export * from './scalar.js';
export * from './ranges.js';
export * from './identity.js';
export * from './arithmetic.js';
export * from './parse.js';
export * from './host.js';
