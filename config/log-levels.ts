/** The levels pino knows, quietest last. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of pino's levels. */
export type LogLevel = (typeof logLevels)[number];
