/**
 * The operator actions the dashboard offers, as a table: each names its route, its button, when it applies, the
 * fields it asks for, and what it does on the engine. Adding an action is adding one entry.
 */
import * as Effect from "effect/Effect"
import type { WorkflowEngine, WorkflowError } from "@weft/workflow"
import { WorkflowStore, WorkflowTrace } from "@weft/workflow"

/** A text field an action asks the operator for (sent in the JSON body under `name`). */
export interface Field {
  readonly name: string
  readonly label: string
  readonly required: boolean
}

/** The request of an action: the execution's record as it was, and the body's fields (strings). */
export interface Input {
  readonly execution: WorkflowStore.ExecutionRecord
  readonly workflow: string | undefined
  readonly fields: Readonly<Record<string, string>>
}

/** One operator action. */
export interface Action {
  /** The route segment: `POST <base>/api/executions/<id>/<name>`; letters, digits and dashes. */
  readonly name: string
  /** The button's text. */
  readonly label: string
  /** What the button's confirmation says it will do. */
  readonly description: string
  readonly fields: ReadonlyArray<Field>
  /**
   * Why the action does not apply to this execution, if it does not: its button is hidden then, and a request
   * answers 409 with this message.
   */
  readonly refuse: (execution: WorkflowStore.ExecutionRecord) => string | undefined
  /**
   * Does it. What it returns (JSON) is answered as `result`; an `executionId` there other than the one acted on (a
   * restart's new execution) is opened by the page.
   */
  readonly run: (engine: WorkflowEngine.Service, input: Input) => Effect.Effect<unknown, WorkflowError.WorkflowError>
}

/** An action from its parts (fields default to none). */
export const make = (
  action: Omit<Action, "fields"> & { readonly fields?: ReadonlyArray<Field> | undefined }
): Action => {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(action.name)) {
    throw new Error(`DashboardAction.make: "${action.name}" is not a route segment (lowercase letters, digits, dashes)`)
  }
  return { ...action, fields: action.fields ?? [] }
}

/** `interrupt`: a running or suspended execution stops; its compensations run. */
export const interrupt: Action = make({
  name: "interrupt",
  label: "Interrupt",
  description: "Interrupt this execution: its workers stop it, run its compensations and end it as interrupted.",
  refuse: (execution) =>
    WorkflowStore.terminal.has(execution.status)
      ? `The execution has already ended (${execution.status}): nothing to interrupt`
      : undefined,
  run: (engine, { execution, workflow }) => engine.interrupt(execution.executionId, workflow)
})

/** `resume`: a suspended execution is woken now; one that failed with a defect is re-opened. */
export const resume: Action = make({
  name: "resume",
  label: "Resume now",
  description: "Resume this execution now: a suspended one is woken, one that failed with a defect runs again.",
  refuse: (execution) => {
    if (execution.status === "suspended" || execution.status === "running") return undefined
    const defect = WorkflowTrace.outcomeOf(execution.result)?.outcome === "defect"
    if (execution.status === "failed" && defect) return undefined
    return execution.status === "failed"
      ? "The execution failed with a typed error: resume only re-runs one that failed with a defect"
      : `The execution has ended (${execution.status}): there is nothing to resume`
  },
  run: (engine, { execution, workflow }) => engine.resume(execution.executionId, workflow)
})

/** `retry`: a failed execution runs again where it stands; the activities that failed get a fresh round of attempts. */
export const retry: Action = make({
  name: "retry",
  label: "Retry",
  description:
    "Retry this execution: the activities whose failure ended it run again; completed steps keep their results.",
  refuse: (execution) =>
    execution.status === "failed"
      ? undefined
      : `Only a failed execution can be retried (this one is ${execution.status})`,
  run: (engine, { execution, workflow }) => engine.retry(execution.executionId, workflow)
})

/** `restart`: a new execution of an ended one's workflow and payload, from a step (default: the beginning). */
export const restart: Action = make({
  name: "restart",
  label: "Restart…",
  description: "Restart as a new execution with the same payload, keeping the steps before the one you name.",
  fields: [{ name: "fromStep", label: "Restart from which activity? (empty: from the beginning)", required: false }],
  refuse: (execution) =>
    WorkflowStore.terminal.has(execution.status)
      ? undefined
      : `Only an ended execution can be restarted (this one is ${execution.status}): interrupt it first`,
  run: (engine, { execution, fields, workflow }) =>
    engine.restart(execution.executionId, {
      ...(fields.fromStep === undefined ? {} : { fromStep: fields.fromStep }),
      ...(workflow === undefined ? {} : { workflow })
    })
})

/** The actions a dashboard offers unless given others. */
export const defaults: ReadonlyArray<Action> = [interrupt, resume, retry, restart]
