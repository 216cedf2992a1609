import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids that tie log lines to a request or a job, carried across awaits. */
export interface LogContext {
  requestId?: string;
  jobId?: string;
  queue?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export const runWithLogContext = <T>(context: LogContext, fn: () => T): T => storage.run(context, fn);
export const currentLogContext = (): LogContext => storage.getStore() ?? {};
