/**
 * Why a `weft` command failed, as one error with a reason; each reason has its process exit code, so scripts can
 * tell a missing execution from a database that cannot be reached.
 */
import * as Data from "effect/Data"
import type { WorkflowError } from "@weft/workflow"

/**
 * Why a command failed:
 * - `NotFound`: no execution with that id (exit 1).
 * - `Refused`: the request was understood but not carried out: a forged or malformed token, an execution that
 *   has ended, a deferred already completed (exit 1).
 * - `Usage`: the command line does not parse: an unknown flag, a malformed JSON value or cursor (exit 2).
 * - `DatabaseUnavailable`: the database cannot be reached, the SQLite file is missing or is not a Weft database
 *   (exit 3).
 * - `Failed`: anything else: the store refused a statement, a bug (exit 4).
 */
export type Reason = "NotFound" | "Refused" | "Usage" | "DatabaseUnavailable" | "Failed"

/** The process exit code of each reason; 0 is success. */
export const exitCodes: Readonly<Record<Reason, number>> = {
  NotFound: 1,
  Refused: 1,
  Usage: 2,
  DatabaseUnavailable: 3,
  Failed: 4
}

/** A failed command: its reason, a message for people, and what it was about. */
export class CommandError extends Data.TaggedError("CommandError")<{
  readonly reason: Reason
  readonly message: string
  readonly executionId?: string | undefined
  readonly workflow?: string | undefined
}> {
  /** The process exit code for this error. */
  get exitCode(): number {
    return exitCodes[this.reason]
  }
}

/** A `WorkflowError` from the engine, as the command error a user sees. */
export const fromWorkflowError = (error: WorkflowError.WorkflowError): CommandError =>
  new CommandError({
    reason: reasonOf(error.reason),
    message: error.message,
    executionId: error.executionId,
    workflow: error.workflow
  })

const reasonOf = (reason: WorkflowError.Reason): Reason => {
  switch (reason) {
    case "ExecutionNotFound":
      return "NotFound"
    case "InvalidToken":
    case "InvalidPayload":
    case "NotRegistered":
    case "ExecutionConflict":
    case "InvalidState":
      return "Refused"
    case "StoreUnavailable":
      return "DatabaseUnavailable"
    default:
      return "Failed"
  }
}
