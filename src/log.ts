import { pino, type Logger } from 'pino';

/** The root logger: JSON lines on stdout; modules take `log.child({ module })`. */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
}
