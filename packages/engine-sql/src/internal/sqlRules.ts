/**
 * The store contract's rules (`StoreRules.transitions`) as SQL text: conditions, assignments, event kinds and
 * notices, each made once from the rules, so no statement spells a status or an event kind of its own and a
 * prepared statement's text stays a constant.
 */
import { StoreRules, WorkflowStore } from "@weft/workflow"

type Transition = StoreRules.Transition

/** The rules, one row per write. */
export const T = StoreRules.transitions

/** A stored status or event kind as an SQL literal (plain lowercase words: nothing to escape). */
export const literal = (value: WorkflowStore.ExecutionStatus | WorkflowStore.EventKind): string => {
  if (!/^[a-z-]+$/.test(value)) throw new Error(`Not a plain status or event kind: ${value}`)
  return `'${value}'`
}

/** The condition that `status` is one of `statuses`. */
export const statusIn = (statuses: ReadonlyArray<WorkflowStore.ExecutionStatus>): string =>
  statuses.length === 1 ? `status = ${literal(statuses[0]!)}` : `status IN (${statuses.map(literal).join(", ")})`

/** A live execution: its status is one of `WorkflowStore.liveStatuses`. */
export const LIVE = statusIn(WorkflowStore.liveStatuses)

/** An execution that has ended: its status is one of `WorkflowStore.terminalStatuses`. */
export const TERMINAL = statusIn(WorkflowStore.terminalStatuses)

/** The condition of the rows `transition` changes: their status is one it applies from. */
export const admits = (transition: Transition): string => once(admitted, transition, (t) => statusIn(t.from))

/**
 * The assignments of `transition` that take no parameter, for an UPDATE's SET: a fixed status, `wake_seq`
 * bumped, cleared columns, the interrupt flag, the claim released. What the caller gives (a completion's status
 * and result, a suspension's wake time) and `updated_at` are the statement's own parameters.
 */
export const assignments = (transition: Transition): string => once(assigned, transition, assign)

/** The kind of the event `transition` appends (for `complete`, by the completion's status). */
export const kindOf = (transition: Transition, completion?: WorkflowStore.TerminalStatus | undefined): WorkflowStore.EventKind => {
  if (transition.event === undefined) throw new Error("This write appends no event")
  return StoreRules.eventKindOf(transition.event, completion)
}

/** The kind of the event `transition` appends, as an SQL literal. */
export const eventKind = (transition: Transition): string => literal(kindOf(transition))

/** The detail of the event `transition` appends (the deferred's name where the rules say so), or null. */
export const detailOf = (transition: Transition, deferred?: string | undefined): string | null =>
  transition.event === undefined ? null : StoreRules.eventDetailOf(transition.event, deferred) ?? null

/** The notice a store with notifications sends once `transition` changed a record (`<notice>:<id>:<workflow>`). */
export const notice = (transition: Transition): WorkflowStore.Notification["kind"] => {
  if (transition.notice === undefined) throw new Error("This write announces nothing")
  return transition.notice
}

const assign = (transition: Transition): string => {
  const set: Array<string> = []
  if (transition.to !== "kept" && transition.to !== "completion") set.push(`status = ${literal(transition.to)}`)
  if (transition.result === "clear") set.push("result = NULL")
  if (transition.wakeSeq === "bump") set.push("wake_seq = wake_seq + 1")
  if (transition.wakeAt === "clear") set.push("wake_at = NULL")
  if (transition.interruptRequested === "set") set.push("interrupt_requested = 1")
  if (transition.interruptRequested === "clear") set.push("interrupt_requested = 0")
  if (transition.claim === "release") set.push("owner = NULL")
  return set.join(", ")
}

/** The texts made so far, by rule: the rules are constants, so each text is made once. */
const admitted = new WeakMap<Transition, string>()
const assigned = new WeakMap<Transition, string>()

const once = (made: WeakMap<Transition, string>, transition: Transition, make: (t: Transition) => string): string => {
  let text = made.get(transition)
  if (text === undefined) made.set(transition, text = make(transition))
  return text
}
