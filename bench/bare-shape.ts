/**
 * The bare engine's yardstick: a workflow with the activity shape of Mailgate's email workflow and
 * no-op bodies, so a benchmark can run it beside Mailgate against the same Temporal server and tell
 * the engine's cost from Mailgate's own. A shape is the order of the activities and local activities
 * a run records; what Mailgate records besides them (search attributes, patch markers) is Mailgate's
 * cost, not the engine's. `shapeOfHistory` reads a shape from a real run, and
 * test/integration/bench-shape.test.ts checks that the shapes below are what Mailgate records today.
 */

/** What a workflow run does, in order: a local activity or an activity. */
export type ShapeStep = 'local' | 'activity';

/** A small email (no attachment): parse, thread, ticket (local), acknowledge, record (local). */
export const SMALL_EMAIL_SHAPE: readonly ShapeStep[] = ['local', 'local', 'local', 'activity', 'local'];

/** An email with one small attachment: parse, thread, scan, store, ticket, acknowledge, record. */
export const ATTACHMENT_EMAIL_SHAPE: readonly ShapeStep[] = ['local', 'local', 'activity', 'activity', 'local', 'activity', 'local'];

export interface HistoryEventLike {
  eventType?: string | number | null;
  markerRecordedEventAttributes?: { markerName?: string | null } | null;
}

/** The SDK's event type numbers (temporal.api.enums.v1.EventType) of the events a shape is read from. */
const ACTIVITY_TASK_SCHEDULED = 10;
const MARKER_RECORDED = 25;

/** The shape a history records (event types as the SDK's enum numbers or as names). */
export function shapeOfHistory(events: readonly HistoryEventLike[]): ShapeStep[] {
  const shape: ShapeStep[] = [];
  for (const event of events) {
    const type = event.eventType;
    if (type === ACTIVITY_TASK_SCHEDULED || type === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED') shape.push('activity');
    const marker = type === MARKER_RECORDED || type === 'EVENT_TYPE_MARKER_RECORDED' ? event.markerRecordedEventAttributes?.markerName : null;
    if (marker === 'core_local_activity') shape.push('local');
  }
  return shape;
}
