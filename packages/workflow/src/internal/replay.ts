/**
 * Replay: one run's view of the journal (the attempts, deferreds and clocks claimed with it, and what this run
 * asked for), and the determinism guard that names where a replay left its journal.
 */
import type * as Effect from "effect/Effect"
import { NonDeterminismError } from "../WorkflowError.js"
import { type ActivityAttempt, type DeferredRecord, isRetriedMarker, type Journal } from "../WorkflowStore.js"
import { isReserved } from "./reserved.js"

/** Two different activities under one name in one execution: a bug in the workflow's code, named by the runtime. */
export class DuplicateActivityName extends Error {
  override readonly name = "DuplicateActivityName"
}

/** The journal of one run, as claimed and as written since. */
export class Replay {
  readonly attempts = new Map<string, Array<ActivityAttempt>>()
  readonly deferreds = new Map<string, DeferredRecord>()
  readonly clocks = new Map<string, number>()
  /** The steps the body asked for in this run. */
  readonly asked = new Set<string>()
  /** The timers the body asked for in this run (a sleep, a backoff, a timeout, the deadline). */
  readonly askedClocks = new Set<string>()
  /** The deferreds the body awaited (or raced) in this run. */
  readonly askedDeferreds = new Set<string>()
  /**
   * The journal's user activities as the recording ran them (first start, last end), for the order guard; the
   * runtime's own steps (notes, patches, children, compensations) are not ordered. Empty for a new execution.
   */
  private readonly spans = new Map<string, { start: number; end: number }>()
  /**
   * By fiber: the latest recorded start among the journaled steps that fiber asked for, and its step. Per fiber, so
   * concurrent branches (one replaying a wait at once, another that ran first) are never compared with each other.
   */
  private readonly latest = new Map<number, { readonly name: string; readonly start: number }>()
  /** The deferreds the journal held when the run claimed it (not those delivered during the run). */
  private readonly journalDeferreds: ReadonlyArray<string>
  /** Attempts run by this run (not replayed): a defect recorded here is not tried again without a resume. */
  readonly ranHere = new Set<ActivityAttempt>()
  /**
   * The work (the `execute` effect) each activity name was first asked with in this run. Every run replays the
   * body from the top, so two pieces of work under one name meet in the same run, on replay too, and the check
   * needs nothing stored. The same activity value, or a copy of it (`Activity.retry`), brings the same work.
   */
  private readonly work = new Map<string, Effect.Effect<any, any, any>>()

  constructor(journal: Journal) {
    for (const attempt of journal.attempts) {
      const list = this.attempts.get(attempt.name)
      if (list === undefined) this.attempts.set(attempt.name, [attempt])
      else list.push(attempt)
    }
    for (const list of this.attempts.values()) if (list.length > 1) list.sort((a, b) => a.attempt - b.attempt)
    this.journalDeferreds = journal.deferreds.map((d) => d.name)
    for (const attempt of journal.attempts) {
      if (isReserved(attempt.name)) continue
      const span = this.spans.get(attempt.name)
      if (span === undefined) this.spans.set(attempt.name, { start: attempt.startedAt, end: attempt.completedAt })
      else {
        span.start = Math.min(span.start, attempt.startedAt)
        span.end = Math.max(span.end, attempt.completedAt)
      }
    }
    for (const deferred of journal.deferreds) this.deferreds.set(deferred.name, deferred)
    for (const clock of journal.clocks) this.clocks.set(clock.name, clock.wakeAt)
  }

  /** Whether `name` may run `work`: false when a different piece of work already asked under that name. */
  claimName(name: string, work: Effect.Effect<any, any, any>): boolean {
    if (isReserved(name)) return true
    const first = this.work.get(name)
    if (first === undefined) this.work.set(name, work)
    return first === undefined || first === work
  }

  /** Whether asking for step `name` now is checked for order: a journaled user activity asked for the first time. */
  ordered(name: string): boolean {
    return this.spans.size > 0 && this.spans.has(name) && !this.asked.has(name)
  }

  /**
   * Notes that fiber `fiber` asks for journaled step `name` (see `ordered`), and returns the step that fiber asked
   * for before although the recording finished `name` before that one even started (a reordered body), if any.
   * Steps whose recorded times overlap (run at once, or in one millisecond) may come in any order.
   */
  outOfOrder(name: string, fiber: number): string | undefined {
    const span = this.spans.get(name)
    if (span === undefined) return undefined
    const latest = this.latest.get(fiber)
    if (latest !== undefined && span.end <= latest.start && span.start < latest.start) return latest.name
    if (latest === undefined || span.start > latest.start) this.latest.set(fiber, { name, start: span.start })
    return undefined
  }

  /**
   * Whether the body is past its journal: every step, timer and completed deferred the journal held when the run
   * claimed it was asked for in this run. Until then the run replays what an earlier run did. A signal stored before
   * the claim and not awaited yet counts: in doubt, "not past" (the old path, which the journal can replay). One
   * delivered during this run does not: it says nothing of what old code did.
   */
  atFrontier(): boolean {
    for (const name of this.attempts.keys()) if (!this.asked.has(name)) return false
    for (const name of this.clocks.keys()) if (!this.askedClocks.has(name)) return false
    for (const name of this.journalDeferreds) if (!this.askedDeferreds.has(name)) return false
    return true
  }

  /** The latest stored attempt of activity `name`. */
  lastAttempt(name: string): ActivityAttempt | undefined {
    const attempts = this.attempts.get(name)
    return attempts === undefined ? undefined : attempts[attempts.length - 1]
  }

  /**
   * The attempt number an operator's latest retry of activity `name` put after its failed attempts (0 if none):
   * the retry policy counts the attempts after it afresh.
   */
  retryBase(name: string): number {
    const attempts = this.attempts.get(name)
    if (attempts === undefined) return 0
    for (let i = attempts.length - 1; i >= 0; i--) if (isRetriedMarker(attempts[i]!.exit)) return attempts[i]!.attempt
    return 0
  }

  /** Adds an attempt this run stored. */
  addAttempt(stored: ActivityAttempt): void {
    const list = this.attempts.get(stored.name)
    if (list === undefined) this.attempts.set(stored.name, [stored])
    else list.push(stored)
    this.ranHere.add(stored)
  }

  /** A journaled activity the finished body never asked for, if any. */
  skipped(): string | undefined {
    for (const name of this.attempts.keys()) {
      // A step an operator's retry voided (its last attempt a marker) need not be asked for again.
      if (!this.asked.has(name) && !isReserved(name) && !isRetriedMarker(this.lastAttempt(name)!.exit)) return name
    }
    return undefined
  }
}

/** Where an execution is, for the messages of the guard. */
interface Where {
  readonly workflow: string
  readonly executionId: string
}

/** The defect of a replay that diverged from its journal at `activity`. */
export const diverged = (where: Where, activity: string, why: string): NonDeterminismError =>
  new NonDeterminismError({
    workflow: where.workflow,
    executionId: where.executionId,
    activity,
    message: `Execution ${where.executionId} of workflow "${where.workflow}" diverged from its journal at "${activity}": ${why}`
  })

/** The defect of a finished body that never asked for activity `name`, which its journal holds. */
export const skippedStep = (where: Where, name: string): NonDeterminismError =>
  new NonDeterminismError({
    workflow: where.workflow,
    executionId: where.executionId,
    activity: name,
    message: `Execution ${where.executionId} of workflow "${where.workflow}" finished without asking for activity "${name}", which its journal holds`
  })

/** The defect for a second, different activity under a name already used in this execution. */
export const sameName = (where: Where, activity: string): DuplicateActivityName =>
  new DuplicateActivityName(
    `Execution ${where.executionId} of workflow "${where.workflow}" asked for two different activities ` +
      `named "${activity}". An activity's name is its key in the journal, so the second would get the first ` +
      `one's stored result: give each piece of work a unique name (say "${activity}/<item id>"), or yield ` +
      `the same activity value again to reuse its result`
  )

/** Whether a defect says the replay diverged (its later steps are then no news). */
export const isDivergence = (defect: unknown): boolean =>
  defect instanceof NonDeterminismError || defect instanceof DuplicateActivityName
