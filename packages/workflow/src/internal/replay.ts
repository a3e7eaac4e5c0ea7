/**
 * Replay: one run's view of the journal (the attempts, deferreds and clocks claimed with it, and what this run
 * asked for), and the determinism guard that names where a replay left its journal.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import { NonDeterminismError } from "../WorkflowError.js"
import { type ActivityAttempt, type DeferredRecord, isRetriedMarker, type Journal } from "../WorkflowStore.js"
import { isReserved, SLEEP } from "./reserved.js"

/** The kinds of step a user names, as the kind guard tells them apart. */
export type StepKind = "activity" | "sleep" | "deferred"

/** The kinds a journal's user name can prove the recording asked for (a deferred may be a signal nobody awaited). */
const ACTIVITY = 1
const SLEEP_KIND = 2

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
  private readonly spans = new Map<string, { start: number; end: number; readonly stored: number }>()
  /**
   * By fiber: the latest recorded start among the journaled steps that fiber asked for, and its step. Per fiber, so
   * concurrent branches (one replaying a wait at once, another that ran first) are never compared with each other.
   */
  private readonly latest = new Map<number, { readonly name: string; readonly start: number; readonly stored: number }>()
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
  /**
   * The user names the claimed journal holds as an activity or a durable sleep (bits of ACTIVITY, SLEEP_KIND), for
   * the kind guard. Undefined when it holds none (a new execution): the guard then costs one property read.
   */
  private readonly kinds: Map<string, number> | undefined

  constructor(journal: Journal) {
    for (const attempt of journal.attempts) {
      const list = this.attempts.get(attempt.name)
      if (list === undefined) this.attempts.set(attempt.name, [attempt])
      else list.push(attempt)
    }
    for (const list of this.attempts.values()) if (list.length > 1) list.sort((a, b) => a.attempt - b.attempt)
    this.journalDeferreds = journal.deferreds.map((d) => d.name)
    for (let stored = 0; stored < journal.attempts.length; stored++) {
      const attempt = journal.attempts[stored]!
      if (isReserved(attempt.name)) continue
      const span = this.spans.get(attempt.name)
      if (span === undefined) this.spans.set(attempt.name, { start: attempt.startedAt, end: attempt.completedAt, stored })
      else {
        span.start = Math.min(span.start, attempt.startedAt)
        span.end = Math.max(span.end, attempt.completedAt)
      }
    }
    for (const deferred of journal.deferreds) this.deferreds.set(deferred.name, deferred)
    for (const clock of journal.clocks) this.clocks.set(clock.name, clock.wakeAt)
    let kinds: Map<string, number> | undefined
    // A step an operator's retry voided (its last attempt a marker) proves nothing of what the body asks next.
    for (const [name, list] of this.attempts) {
      if (!isReserved(name) && !isRetriedMarker(list[list.length - 1]!.exit)) (kinds ??= new Map()).set(name, ACTIVITY)
    }
    for (const clock of journal.clocks) {
      if (!clock.name.startsWith(SLEEP)) continue
      const name = clock.name.slice(SLEEP.length)
      ;(kinds ??= new Map()).set(name, (kinds.get(name) ?? 0) | SLEEP_KIND)
    }
    this.kinds = kinds
  }

  /**
   * The kind guard's question, asked where the body asks for step `step` (its journal name) of kind `kind`: when the
   * journal does not hold that step (it would run now) but holds its user name as another kind of step that this run
   * has not asked for yet, that kind. An activity and a sleep are proof the recording asked for them; a stored
   * deferred is not (a signal may come before any await), so a deferred is only ever the kind asked for. One Map
   * lookup on replay; nothing for a new execution.
   */
  heldAs(kind: StepKind, step: string): StepKind | undefined {
    if (this.kinds === undefined) return undefined
    const name = kind !== "sleep" ? step : step.startsWith(SLEEP) ? step.slice(SLEEP.length) : undefined
    if (name === undefined) return undefined
    const held = this.kinds.get(name)
    if (held === undefined) return undefined
    const journaled = kind === "activity"
      ? this.attempts.has(step)
      : kind === "sleep"
      ? this.clocks.has(step)
      : this.deferreds.has(step)
    if (journaled || isReserved(name)) return undefined
    if (kind !== "activity" && (held & ACTIVITY) !== 0 && !this.asked.has(name)) return "activity"
    if (kind !== "sleep" && (held & SLEEP_KIND) !== 0 && !this.askedClocks.has(`${SLEEP}${name}`)) return "sleep"
    return undefined
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
   * Steps whose recorded times overlap (run at once, or in one millisecond) may come in any order. The store's order
   * must agree (`name` stored before that step): times written by two workers whose clocks disagree never flag a
   * healthy execution.
   */
  outOfOrder(name: string, fiber: number): string | undefined {
    const span = this.spans.get(name)
    if (span === undefined) return undefined
    const latest = this.latest.get(fiber)
    if (latest !== undefined && span.end <= latest.start && span.start < latest.start && span.stored < latest.stored) {
      return latest.name
    }
    if (latest === undefined || span.start > latest.start) this.latest.set(fiber, { name, start: span.start, stored: span.stored })
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

/** What the kind guard reads of a run: its journal view, its body's fiber and the execution's scope. */
export interface Judged extends Where {
  readonly replay: Replay
  readonly suspension: { readonly fiber: Fiber.Fiber<unknown, unknown> | undefined }
  readonly scope: Scope.Scope
}

/**
 * The kind guard: the body asks for step `step` of kind `kind`, new to the journal, under a user name the journal
 * holds as another kind of step not asked for yet (`Replay.heldAs`). Judged only where the code is sequential: the
 * body's own fiber, with no fiber of its own running (no `Effect.all` branch, no forked child, no fiber forked into
 * the execution's scope), so no other branch can still ask for the journal's step. There a healthy execution asks
 * for the journal's steps in the recorded order, and one that passed a step has it journaled: the step changed
 * kind, and the run fails here, before the new step runs. Anywhere else the step runs (the body's end still names
 * a journaled activity it never asked for).
 */
export const guardKind = <A, E, R>(
  run: Judged,
  kind: StepKind,
  step: string,
  name: string,
  next: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => {
    if (!alone(run, fiber)) return next
    // A fiber forked outside the body's tree (`forkDetach`, a scope the body made) is not seen: any that is scheduled
    // replays its journaled steps at once, so let it reach them first, and judge only what is still not asked for.
    return Effect.flatMap(settle, () => {
      const held = run.replay.heldAs(kind, step)
      return held === undefined || !alone(run, fiber) ? next : Effect.die(changedKind(run, name, held, kind))
    })
  })

/** The defect of a body that asks for `name` as a `now` step where its journal holds it as a `held` one. */
export const changedKind = (where: Where, name: string, held: StepKind, now: StepKind): NonDeterminismError =>
  diverged(
    where,
    name,
    `the journal holds ${kindNames[held]} named "${name}" there, but the body now asks for ${kindNames[now]} ` +
      `named "${name}" (a changed step kind). Nothing of the new step ran. Keep the old step for executions that ` +
      `recorded it (put the change behind Workflow.patched), or give the new step a new name, then resume the execution`
  )

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

const settle = Effect.andThen(Effect.yieldNow, Effect.andThen(Effect.yieldNow, Effect.yieldNow))

/**
 * Whether `fiber` is the body's own fiber with no other fiber of the body running. `_children` is effect's record of
 * a fiber's live forked children; where a fiber has no such field, nothing is judged.
 */
const alone = (run: Judged, fiber: Fiber.Fiber<unknown, unknown>): boolean => {
  if (fiber !== run.suspension.fiber || !("_children" in fiber)) return false
  const children = (fiber as { readonly _children?: ReadonlySet<unknown> | undefined })._children
  if (children !== undefined && children.size > 0) return false
  const state = run.scope.state
  if (state._tag !== "Open") return true
  if (state.finalizerKey !== undefined && Fiber.isFiber(state.finalizerKey)) return false
  if (state.finalizers !== undefined) for (const key of state.finalizers.keys()) if (Fiber.isFiber(key)) return false
  return true
}

const kindNames: Record<StepKind, string> = {
  activity: "an activity",
  sleep: "a durable sleep (DurableClock.sleep)",
  deferred: "a deferred await (DurableDeferred.await)"
}
