/**
 * The activity's logger: the SDK's context logger, which adds workflowId, runId, activityType and
 * attempt to every line (and the worker's runtime logger turns them into our JSON lines). Outside
 * an activity context (activities called directly in unit tests) it logs nothing.
 */
import { Context } from '@temporalio/activity';
import type { LogMetadata } from '@temporalio/common';

type Fields = LogMetadata;

export interface ActivityLog {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
}

const silent: ActivityLog = { info: () => undefined, warn: () => undefined };

export function activityLog(): ActivityLog {
  try {
    return Context.current().log;
  } catch {
    return silent;
  }
}
