/**
 * Durable schedules: specs checked before anything is written, fire times from effect's `Cron` (time zones, DST) or a
 * fixed interval, and the engine's loop that starts each due fire once, under the idempotency key
 * `<scheduleId>@<ISO fire time>`, and advances the schedule with a compare-and-set on its revision.
 */
import { createHash } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Cron from "effect/Cron"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import { WorkflowError } from "../WorkflowError.js"
import { live, type Notification, type ScheduleRecord, type ScheduleStore } from "../WorkflowStore.js"
import type { Engine, WorkflowDef } from "./definitions.js"
import * as NameRules from "./nameRules.js"
import * as Starts from "./starts.js"
import { MAX_TIMER_MS, sleepLive } from "./time.js"

/** What a fire does while the schedule's previous execution is still live. */
export type Overlap = "skip" | "buffer" | "allow"

/** What a schedule's spec says, as given by the caller. */
export interface SpecOptions {
  readonly cron?: string | undefined
  readonly every?: Duration.Input | undefined
  readonly at?: Date | number | DateTime.DateTime | undefined
  readonly timezone?: string | undefined
  readonly overlap?: Overlap | undefined
  readonly catchUp?: "latest" | { readonly window: Duration.Input } | undefined
  readonly jitter?: Duration.Input | undefined
}

/** The spec as stored (JSON): one timing, and the policies. */
export interface Spec {
  readonly cron?: string | undefined
  readonly timezone?: string | undefined
  readonly everyMs?: number | undefined
  /** An interval's fire times are `anchor + k * everyMs`: the anchor is when the schedule was first made. */
  readonly anchor?: number | undefined
  readonly at?: number | undefined
  readonly overlap: Overlap
  readonly catchUp: "latest" | { readonly windowMs: number }
  readonly jitterMs: number
}

/** Fire times a catch-up runs at most, whatever the window. */
const MAX_CATCH_UP = 1_000

/** The default time zone of cron text: UTC, never the host's. */
const DEFAULT_ZONE = "UTC"

/** A bad option: `InvalidPayload` naming the field, what it expected and what it got. Nothing is written. */
const invalid = (field: string, expected: string, got: string): WorkflowError =>
  new WorkflowError({
    reason: "InvalidPayload",
    field,
    expected,
    message: `Schedule ${field} must be ${expected}, got ${got}`
  })

const millisOf = (input: Duration.Input): number => {
  const duration = Duration.fromInput(input)
  return Option.isSome(duration) ? Duration.toMillis(duration.value) : Number.NaN
}

const show = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value))

/** Checks a schedule id: a name as the engine's names are. */
export const checkId = (id: unknown): WorkflowError | undefined => {
  const problem = NameRules.problem(id)
  return problem === undefined ? undefined : invalid("id", NameRules.ALLOWED, `${NameRules.quote(id)} (${problem})`)
}

/**
 * Checks options into a stored spec: exactly one of `cron`, `every`, `at`; a cron text and time zone effect's `Cron`
 * reads; durations finite and not negative. A bad one is `InvalidPayload` naming the field and what was expected.
 */
export const makeSpec = (options: SpecOptions, now: number, anchor?: number): Spec | WorkflowError => {
  const timings = (["cron", "every", "at"] as const).filter((k) => options[k] !== undefined)
  if (timings.length !== 1) {
    const got = timings.length === 0 ? "none" : timings.join(" and ")
    return invalid(timings.length === 0 ? "cron" : timings[1]!, "given alone: exactly one of cron, every, at", got)
  }
  const overlap = options.overlap ?? "skip"
  if (!["skip", "buffer", "allow"].includes(overlap)) {
    return invalid("overlap", `"skip", "buffer" or "allow"`, show(overlap))
  }
  let catchUp: Spec["catchUp"] = "latest"
  if (options.catchUp !== undefined && options.catchUp !== "latest") {
    const given = options.catchUp
    const windowMs = typeof given === "object" && given !== null ? millisOf(given.window) : Number.NaN
    if (!(Number.isFinite(windowMs) && windowMs >= 0)) {
      return invalid("catchUp", `"latest" or { window: a finite duration of at least zero }`, JSON.stringify(given))
    }
    catchUp = { windowMs }
  }
  const jitterMs = options.jitter === undefined ? 0 : millisOf(options.jitter)
  if (!(Number.isFinite(jitterMs) && jitterMs >= 0)) {
    return invalid("jitter", "a finite duration of at least zero", show(options.jitter))
  }
  const policies = { overlap, catchUp, jitterMs }
  if (options.timezone !== undefined && options.cron === undefined) {
    return invalid("timezone", "given only with cron", `${show(options.timezone)} with ${timings[0]}`)
  }
  if (options.cron !== undefined) {
    const timezone = options.timezone ?? DEFAULT_ZONE
    if (typeof timezone !== "string" || Option.isNone(DateTime.zoneMakeNamed(timezone))) {
      return invalid("timezone", `an IANA time zone name, such as "America/New_York"`, show(timezone))
    }
    const parsed = typeof options.cron === "string" ? Cron.parse(options.cron, timezone) : undefined
    if (parsed === undefined || Result.isFailure(parsed)) {
      const why = parsed === undefined ? "not text" : parsed.failure.message
      const expected = "cron text: 5 fields (minute hour day month weekday), or 6 with seconds first"
      return invalid("cron", expected, `${show(options.cron)} (${why})`)
    }
    return { cron: options.cron, timezone, ...policies }
  }
  if (options.every !== undefined) {
    const everyMs = millisOf(options.every)
    if (!(Number.isFinite(everyMs) && everyMs >= 1)) {
      return invalid("every", "a finite duration of at least 1 millisecond", show(options.every))
    }
    return { everyMs, anchor: anchor ?? now, ...policies }
  }
  const at = instant(options.at)
  if (at === undefined) return invalid("at", "a Date, epoch milliseconds or a DateTime", show(options.at))
  return { at, ...policies }
}

const instant = (at: SpecOptions["at"]): number | undefined => {
  const ms = at instanceof Date
    ? at.getTime()
    : typeof at === "number"
    ? at
    : DateTime.isDateTime(at)
    ? DateTime.toEpochMillis(at)
    : Number.NaN
  return Number.isFinite(ms) ? Math.trunc(ms) : undefined
}

/** The options a stored spec was made from, so an update can change some and keep the rest. */
export const optionsOf = (spec: Spec): SpecOptions => ({
  ...(spec.cron !== undefined ? { cron: spec.cron, timezone: spec.timezone } : {}),
  ...(spec.everyMs !== undefined ? { every: Duration.millis(spec.everyMs) } : {}),
  ...(spec.at !== undefined ? { at: spec.at } : {}),
  overlap: spec.overlap,
  catchUp: spec.catchUp === "latest" ? "latest" : { window: Duration.millis(spec.catchUp.windowMs) },
  jitter: Duration.millis(spec.jitterMs)
})

/** Whether two specs time fires alike (policies aside). */
export const sameTiming = (a: Spec, b: Spec): boolean =>
  a.cron === b.cron && a.timezone === b.timezone && a.everyMs === b.everyMs && a.anchor === b.anchor && a.at === b.at

/** A stored spec, read back; one that does not read is none (the loop logs it and leaves the schedule alone). */
export const readSpec = (stored: unknown): Spec | undefined => {
  if (typeof stored !== "object" || stored === null) return undefined
  const spec = stored as Spec
  return typeof spec.overlap === "string" && typeof spec.jitterMs === "number" ? spec : undefined
}

const cronOf = (spec: Spec): Cron.Cron => Cron.parseUnsafe(spec.cron!, spec.timezone ?? DEFAULT_ZONE)

/** The first fire time strictly after `after`; none when the schedule fires no more. */
export const nextAfter = (spec: Spec, after: number): number | undefined => {
  if (spec.cron !== undefined) return Cron.next(cronOf(spec), new Date(after)).getTime()
  if (spec.everyMs !== undefined) {
    const anchor = spec.anchor ?? 0
    return after < anchor ? anchor : anchor + (Math.floor((after - anchor) / spec.everyMs) + 1) * spec.everyMs
  }
  return spec.at !== undefined && spec.at > after ? spec.at : undefined
}

/** The first fire of a new (or re-timed) schedule at `now`: a one-time one at its time, even if past. */
export const firstFire = (spec: Spec, now: number): number | undefined =>
  spec.at !== undefined
    ? spec.at
    : spec.everyMs !== undefined
    ? nextAfter(spec, Math.max(now, spec.anchor ?? now))
    : nextAfter(spec, now)

/** The next `count` fire times from `from` (a fire time itself). */
export const upcoming = (spec: Spec, from: number | undefined, count: number): Array<number> => {
  const out: Array<number> = []
  for (let t = from; t !== undefined && out.length < count; t = nextAfter(spec, t)) out.push(t)
  return out
}

/**
 * The fire times from `from` (the schedule's next fire, due) to `now` that run under the catch-up policy: the latest,
 * or every one within the window before `now` (at most `MAX_CATCH_UP`, the latest ones).
 */
export const missed = (spec: Spec, from: number, now: number): Array<number> => {
  const start = spec.catchUp === "latest" ? from : Math.max(from, now - spec.catchUp.windowMs)
  const all: Array<number> = []
  if (spec.everyMs !== undefined) {
    const anchor = spec.anchor ?? 0
    const last = anchor + Math.floor((now - anchor) / spec.everyMs) * spec.everyMs
    if (spec.catchUp === "latest") return last >= from ? [last] : [from]
    const first = Math.max(from, anchor + Math.ceil((start - anchor) / spec.everyMs) * spec.everyMs)
    for (let t = Math.max(first, last - (MAX_CATCH_UP - 1) * spec.everyMs); t <= last; t += spec.everyMs) all.push(t)
    return all
  }
  if (spec.catchUp === "latest" && spec.cron !== undefined) {
    const latest = Cron.prev(cronOf(spec), new Date(now + 1)).getTime()
    return [Math.max(from, Math.min(latest, now))]
  }
  let t: number | undefined = start === from ? from : nextAfter(spec, start - 1)
  for (; t !== undefined && t <= now; t = nextAfter(spec, t)) {
    all.push(t)
    if (all.length > MAX_CATCH_UP) all.shift()
  }
  return all
}

/** A fire's start delay: the same in every worker, from 0 up to `jitterMs`, spread by the schedule and fire time. */
export const jitterOf = (scheduleId: string, fireAt: number, jitterMs: number): number => {
  if (jitterMs <= 0) return 0
  const digest = createHash("sha256").update(`${scheduleId}@${fireAt}`).digest()
  return Math.floor((digest.readUIntBE(0, 6) / 2 ** 48) * jitterMs)
}

/** When the fire at `fireAt` is due to start. */
export const dueOf = (scheduleId: string, spec: Spec, fireAt: number | undefined): number | undefined =>
  fireAt === undefined ? undefined : fireAt + jitterOf(scheduleId, fireAt, spec.jitterMs)

/** The idempotency key of a fire: the same in every worker, so its execution is one. */
export const fireKey = (scheduleId: string, fireAt: number): string => `${scheduleId}@${new Date(fireAt).toISOString()}`

/** The idempotency key of a `trigger` (fire now), apart from any scheduled fire's. */
export const triggerKey = (scheduleId: string, at: number): string => `${fireKey(scheduleId, at)}/trigger`

/** The store's schedules, or `StoreRejected` when it keeps none. */
export const storeOf = (engine: Engine): Effect.Effect<ScheduleStore, WorkflowError> =>
  engine.store.schedules === undefined
    ? Effect.fail(new WorkflowError({ reason: "StoreRejected", message: "This store keeps no schedules" }))
    : Effect.succeed(engine.store.schedules)

// The loop of each engine, woken at once when this process writes a schedule (other processes' are found by its poll).
const wakers = new WeakMap<Engine, Queue.Queue<void>>()

/** Wakes the engine's schedule loop now (a schedule was written here, a workflow registered). */
export const wake = (engine: Engine): void => {
  const queue = wakers.get(engine)
  if (queue !== undefined) Queue.offerUnsafe(queue, undefined)
}

/** Wakes the engine's schedule loop: a schedule was written here. */
export const nudge = (engine: Engine): Effect.Effect<void> => Effect.sync(() => wake(engine))

/** How often a buffered fire checks, by the `Clock`, whether the execution before it has ended. */
const BUFFER_CHECK_MS = 1_000

/** What one schedule's turn did: whether a fire stays buffered, and whether its row was written (progress). */
export interface Fired {
  readonly buffered: boolean
  readonly wrote: boolean
  /** The row as this turn stored it; none when it wrote nothing or another worker's write came first. */
  readonly stored?: ScheduleRecord | undefined
}

/**
 * Starts the due fires of one schedule at `now` and advances it (compare-and-set: if another worker advanced it
 * first, this one's starts joined the same executions).
 */
export const fire = (
  engine: Engine,
  schedules: ScheduleStore,
  row: ScheduleRecord,
  now: number
): Effect.Effect<Fired, WorkflowError> =>
  Effect.gen(function* () {
    const idle: Fired = { buffered: false, wrote: false }
    const spec = readSpec(row.spec)
    const registration = engine.registry.get(row.workflow)
    if (spec === undefined || registration === undefined) return idle
    const def: WorkflowDef = registration.def
    const isDue = row.nextFireAt !== undefined && row.dueAt !== undefined && row.dueAt <= now
    // Due with no fire to run (all missed ones older than the catch-up window): it only advances.
    const fires = isDue ? missed(spec, row.nextFireAt!, now) : []
    const pending = row.bufferedAt !== undefined ? [row.bufferedAt, ...fires] : fires
    if (!isDue && pending.length === 0) return idle
    const previousLive = pending.length > 0 && spec.overlap !== "allow" && row.lastExecutionId !== undefined &&
      (yield* isLive(engine, row.lastExecutionId))
    let start: Array<number>
    let buffered: number | undefined
    if (spec.overlap === "allow") {
      start = pending
    } else if (previousLive) {
      start = []
      buffered = spec.overlap === "buffer" ? pending[0] : undefined
    } else {
      start = pending.slice(0, 1)
      buffered = spec.overlap === "buffer" ? pending[1] : undefined
    }
    if (!isDue && buffered === row.bufferedAt) return { buffered: buffered !== undefined, wrote: false }
    let lastExecutionId = row.lastExecutionId
    if (start.length > 0) {
      const payload = def.codec.decodePayload(row.payload)
      if (Result.isFailure(payload)) {
        const message = `Weft: schedule ${row.scheduleId}'s payload no longer decodes; its fires are skipped`
        yield* Effect.logWarning(message, payload.failure)
      } else {
        for (const fireAt of start) {
          const key = fireKey(row.scheduleId, fireAt)
          const started = yield* Effect.result(Starts.start(engine, def, payload.success, { idempotencyKey: key }))
          if (Result.isSuccess(started)) lastExecutionId = started.success.executionId
          else if (started.failure.reason === "ExecutionConflict") {
            yield* Effect.logWarning(`Weft: schedule ${row.scheduleId}'s fire ${key} is skipped`, started.failure)
          } else return yield* Effect.fail(started.failure)
        }
      }
    }
    const next = isDue ? nextAfter(spec, Math.max(now, fires.at(-1) ?? now)) : row.nextFireAt
    const stored = yield* schedules.put(
      {
        ...row,
        nextFireAt: next,
        dueAt: dueOf(row.scheduleId, spec, next),
        lastFireAt: fires.at(-1) ?? row.lastFireAt,
        lastExecutionId,
        bufferedAt: buffered,
        updatedAt: now
      },
      row.revision
    )
    return { buffered: buffered !== undefined, wrote: true, stored: Option.getOrUndefined(stored) }
  })

const isLive = (engine: Engine, executionId: string) =>
  Effect.map(engine.store.get(executionId), (record) => Option.isSome(record) && live.has(record.value.status))

/** How many polls an idle schedule loop (no schedule of its workflows due or to come) waits between its looks. */
export const IDLE_POLLS = 30

/**
 * The engine's schedule loop: fires the due schedules of the workflows it registered, then sleeps until the next
 * fire time (by the `Clock`), its poll (real time: other processes' schedules), or a schedule written here. With no
 * next fire time at all it is idle: it looks again after `IDLE_POLLS` polls, or at once when a schedule is written
 * here or (a store with notifications) announced by another process.
 */
export const loop = (engine: Engine, schedules: ScheduleStore): Effect.Effect<never> =>
  Effect.flatMap(Queue.sliding<void>(1), (wake) => {
    wakers.set(engine, wake)
    const pollMs = engine.settings.pollIntervalMs ?? 1_000
    // Only where other processes' schedule writes are announced: elsewhere a write would be seen that much later,
    // and a first fire with a catch-up window shorter than that could be dropped rather than start late.
    const idleMs = engine.store.notifications === undefined ? pollMs : pollMs * IDLE_POLLS
    const pass = Effect.gen(function* () {
      const workflows = [...engine.registry.keys()]
      const now = yield* Clock.currentTimeMillis
      let recheck = false
      let wrote = 0
      let next = Option.none<number>()
      // Whether `next` is known without asking again: every due schedule of the page advanced by this pass's write.
      let known = true
      if (workflows.length > 0) {
        const found = yield* schedules.due(now, workflows, PAGE)
        next = found.nextDueAt
        for (const row of found.schedules) {
          const fired: Fired = yield* Effect.catchCause(fire(engine, schedules, row, now), (cause) =>
            Effect.as(
              Effect.logWarning(`Weft: schedule ${row.scheduleId} could not fire; tried again`, cause),
              { buffered: true, wrote: false }
            )
          )
          recheck = recheck || fired.buffered
          if (fired.wrote) wrote++
          const dueAt = fired.stored !== undefined ? fired.stored.dueAt : row.dueAt
          if (fired.stored === undefined && row.dueAt !== undefined && row.dueAt <= now) known = false
          if (dueAt !== undefined && dueAt > now && Option.getOrElse(next, () => Infinity) > dueAt) {
            next = Option.some(dueAt)
          }
        }
        // More may be due past this page: look again at once, but only after progress (a page of schedules that
        // are all held, a buffered fire waiting for its previous execution, would otherwise spin).
        if (found.schedules.length >= PAGE) {
          if (wrote > 0) return
          known = false
        }
        // A due schedule this pass did not advance (held, unreadable, or advanced first by another worker): its next
        // due time is the store's, read again.
        if (!known) next = yield* schedules.nextDueAt(workflows)
      }
      if (Option.isNone(next) && !recheck) {
        yield* Effect.raceFirst(sleepLive(idleMs), Queue.take(wake))
        return
      }
      const later = yield* Clock.currentTimeMillis
      const timer = Option.match(next, {
        onNone: () => Effect.never,
        // Due since this pass began: at once. Due when it began and still due (its write failed, lost to another
        // worker's, or it is held): looked at again after a store retry's wait.
        onSome: (at) =>
          at <= now
            ? sleepLive(engine.settings.storeRetryMs)
            : at <= later
            ? Effect.void
            : Effect.sleep(Math.min(MAX_TIMER_MS, at - later))
      })
      const buffered = recheck ? Effect.sleep(BUFFER_CHECK_MS) : Effect.never
      yield* Effect.raceAll([timer, sleepLive(pollMs), Queue.take(wake), buffered])
    })
    return Effect.forever(
      Effect.catchCause(pass, (cause) =>
        Effect.andThen(
          Effect.logError("Weft: the schedule loop failed; retrying", cause),
          sleepLive(engine.settings.storeRetryMs)
        )
      )
    )
  })

/** The due schedules one pass fires at most; a full page is followed by another pass at once. */
const PAGE = 100

/** A schedule another process wrote (a store notification): wakes the loop when its workflow is registered here. */
export const onNotification = (engine: Engine, notification: Notification): void => {
  if (schedulesOf(engine, notification)) wake(engine)
}

/**
 * Whether a written schedule's workflow is one this engine registered. The notice is `schedule:<id>:<workflow>` and a
 * schedule id may hold ":", so the workflow is read as the registered name the notice's text ends with.
 */
const schedulesOf = (engine: Engine, { id, workflow }: Notification): boolean => {
  if (workflow === undefined) return true
  const text = `${id}:${workflow}`
  for (const name of engine.registry.keys()) if (text.endsWith(`:${name}`)) return true
  return false
}
