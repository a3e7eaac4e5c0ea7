/**
 * Typed errors of the engine. One error class with a `reason`, so callers match on one tag and
 * each reason knows whether retrying can help.
 */
import * as Schema from "effect/Schema"

/** Why an engine operation failed. */
export const Reason = Schema.Literals([
  "InvalidPayload",
  "InvalidResult",
  "NotRegistered",
  "ExecutionNotFound",
  "InvalidToken",
  "ExecutionConflict",
  "InvalidState",
  "StoreUnavailable",
  "StoreRejected",
  "LeaseLost"
])

/** Why an engine operation failed. */
export type Reason = typeof Reason.Type

const retryable: Record<Reason, boolean> = {
  InvalidPayload: false,
  InvalidResult: false,
  NotRegistered: false,
  ExecutionNotFound: false,
  InvalidToken: false,
  // The execution id is taken by another payload: starting it again with this one never joins.
  ExecutionConflict: false,
  // The execution is not where the operation applies (a retry of one that did not fail, a restart of a live one).
  InvalidState: false,
  StoreUnavailable: true,
  // The database refused the statement (invalid text, a constraint, a data exception): the same write fails again.
  StoreRejected: false,
  LeaseLost: true
}

/**
 * A failed engine operation: names the workflow, the execution and, for bad input, the field.
 *
 * Declared with `Schema.Error` and `_tag` as the last field, and named by its tag, rather than with
 * `Schema.TaggedError`: so its encoded form keeps effect 3's key order (`_tag` last) and a stored
 * defect keeps the name `WorkflowError`, byte for byte what earlier versions stored.
 */
export class WorkflowError extends Schema.Error<WorkflowError>("@weft/workflow/WorkflowError")({
  reason: Reason,
  message: Schema.String,
  workflow: Schema.optional(Schema.String),
  executionId: Schema.optional(Schema.String),
  field: Schema.optional(Schema.String),
  expected: Schema.optional(Schema.String),
  _tag: Schema.tag("WorkflowError")
}) {
  static {
    Object.defineProperty(this.prototype, "name", { value: "WorkflowError", configurable: true, writable: true })
  }

  /** Whether the same call may succeed if tried again. */
  get isRetryable(): boolean {
    return retryable[this.reason]
  }
}

/**
 * A replayed execution disagrees with its journal: an activity it completed before was not asked
 * for again, or a stored result no longer decodes with the activity's schema. Stored as a defect,
 * so `resume` can re-run the execution once the code is fixed.
 */
export class NonDeterminismError extends Schema.Error<NonDeterminismError>("@weft/workflow/NonDeterminismError")({
  workflow: Schema.String,
  executionId: Schema.String,
  activity: Schema.String,
  message: Schema.String,
  _tag: Schema.tag("NonDeterminismError")
}) {
  static {
    Object.defineProperty(this.prototype, "name", { value: "NonDeterminismError", configurable: true, writable: true })
  }
}
