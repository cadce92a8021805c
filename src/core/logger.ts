/** Lines the engine logs. Messages never contain a secret. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A Logger that drops every line (the default when none is given). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
