/**
 * Logging: pino, JSON lines by default, human-readable (pino-pretty) when stdout is a TTY.
 * `AGORA_LOG_LEVEL` sets the level (default `info`).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.AGORA_LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  if (pretty) {
    return pino({ name, level, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino({ name, level });
}

/** A logger that drops everything (unit tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
