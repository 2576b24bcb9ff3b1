/** Wire types and codecs shared by every Agora process. */
export * from './mesos.js';
export * from './scheduler.js';
export * from './executor.js';
export * from './agent.js';
export * from './recordio.js';
export {
  FALLBACK, FAST_PARSE_MAX_DEPTH, fastParse, fastParser, fastParserSource, type Fallback, type FastParser,
} from './fast-parse.js';
