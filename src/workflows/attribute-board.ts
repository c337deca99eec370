/**
 * The email's search attributes and UI details, written when someone can see them. Everything a
 * workflow task does reaches the server together when the task completes, so an upsert per step
 * (received, parsing, classifying, threading, ticketing…) of steps that run back to back as local
 * activities in one task only ever showed the last value, and cost the engine a history event and a
 * visibility write each. With `coalesce`, changes are gathered and written in one upsert right
 * before the workflow waits on something outside the task (an activity, a timer, an operator) and
 * when it ends. Without it (runs started before this, replayed), every change is written at once,
 * as those runs recorded it. Workflow code: deterministic.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { EmailState } from './types';
import { showEmailDetails } from './user-metadata';

export interface AttributeBoard {
  /** Search attributes to write (null removes one). */
  set(pairs: SearchAttributeUpdatePair[]): void;
  /** The email's state changed: the UI's details are made again from it. */
  details(): void;
  /** Writes what was gathered: before waiting on anything outside this workflow task, and at the end. */
  flush(): void;
}

export function createAttributeBoard(state: EmailState, coalesce: boolean): AttributeBoard {
  const pending = new Map<string, SearchAttributeUpdatePair>();
  let detailsChanged = false;
  return {
    set(pairs) {
      if (!coalesce) {
        upsertSearchAttributes(pairs);
        return;
      }
      // The latest value of a key wins, in the order keys were first set.
      for (const pair of pairs) pending.set(pair.key.name, pair);
    },
    details() {
      if (coalesce) detailsChanged = true;
      else showEmailDetails(state);
    },
    flush() {
      if (pending.size > 0) upsertSearchAttributes([...pending.values()]);
      pending.clear();
      if (detailsChanged) showEmailDetails(state);
      detailsChanged = false;
    },
  };
}
