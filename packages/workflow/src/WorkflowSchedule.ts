/**
 * Durable schedules: start a workflow on a cron (in a time zone, across DST), at a fixed interval, or once; exactly one
 * execution per fire time across any number of workers, with overlap and catch-up policies. Kept by the store.
 */
import * as Clock from "effect/Clock"
import type * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Codec from "./internal/codec.js"
import * as Engine from "./internal/engine.js"
import * as InvalidInput from "./internal/invalidInput.js"
import * as Internal from "./internal/schedules.js"
import * as Starts from "./internal/starts.js"
import type * as Workflow from "./Workflow.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import { WorkflowError } from "./WorkflowError.js"
import type { ScheduleRecord, ScheduleWrite } from "./WorkflowStore.js"

/** What a fire does while the schedule's previous execution is live: start nothing (default), hold one, or start. */
export type Overlap = Internal.Overlap

/** When a schedule fires and what it does with overlaps and missed fires. */
export interface Timing {
  /** Cron text (5 fields, or 6 with seconds first), read by effect's `Cron` in `timezone`. */
  readonly cron?: string | undefined
  /** A fixed interval from when the schedule was made. */
  readonly every?: Duration.Input | undefined
  /** An IANA time zone for `cron` (DST included). Default "UTC". */
  readonly timezone?: string | undefined
  /** While the previous execution is live, a fire: "skip" (default) starts none, "buffer" holds one, "allow" starts. */
  readonly overlap?: Overlap | undefined
  /** Missed fires after downtime: "latest" (default) runs only the latest; `{ window }` every one within it. */
  readonly catchUp?: "latest" | { readonly window: Duration.Input } | undefined
  /** Delays each fire's start by up to this much, the same in every worker. Default none. */
  readonly jitter?: Duration.Input | undefined
}

/** The options of `ensure`: the schedule's id and its timing. */
export interface Options extends Timing {
  readonly id: string
}

/** A schedule as it stands, with its next fire times. */
export interface Schedule {
  readonly id: string
  readonly workflow: string
  /** The schema-encoded payload each fire starts the workflow with. */
  readonly payload: unknown
  readonly cron: string | undefined
  readonly timezone: string | undefined
  readonly everyMs: number | undefined
  /** A one-time schedule's time. */
  readonly at: Date | undefined
  readonly overlap: Overlap
  readonly catchUp: "latest" | { readonly windowMs: number }
  readonly jitterMs: number
  readonly paused: boolean
  /** The next fire times (up to five), earliest first; none once a one-time schedule fired. */
  readonly nextFireTimes: ReadonlyArray<Date>
  readonly lastFireAt: Date | undefined
  readonly lastExecutionId: string | undefined
  readonly createdAt: Date
  readonly updatedAt: Date
}

/**
 * Makes the schedule `options.id`, or leaves it as it is: safe on every boot. A changed spec or payload updates it in
 * place. Bad cron text, time zone or duration is `InvalidPayload` naming the field; nothing is written.
 *
 * @example
 * WorkflowSchedule.ensure(Report, { team: "ops" }, { id: "nightly", cron: "0 2 * * *", timezone: "Europe/Paris" })
 */
export const ensure = Effect.fn("WorkflowSchedule.ensure")(function* <W extends Workflow.Any>(
  workflow: W,
  payload: W["payloadSchema"]["Type"],
  options: Options
) {
  return yield* write(workflow, payload, options, false)
})

/** A one-time schedule that fires at `at` (at once if that has passed); `ensure` semantics. */
export const at = <W extends Workflow.Any>(
  workflow: W,
  payload: W["payloadSchema"]["Type"],
  options: {
    readonly id: string
    readonly at: Date | number | DateTime.DateTime
    readonly jitter?: Duration.Input | undefined
  }
): Effect.Effect<Schedule, WorkflowError, WorkflowEngine> => write(workflow, payload, options, false)

/** A one-time schedule that fires `delay` from now; an existing schedule of that id is left as it is. */
export const delay = <W extends Workflow.Any>(
  workflow: W,
  payload: W["payloadSchema"]["Type"],
  options: { readonly id: string; readonly delay: Duration.Input }
): Effect.Effect<Schedule, WorkflowError, WorkflowEngine> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const ms = Internal.makeSpec({ every: options.delay }, now)
    if (ms instanceof WorkflowError) {
      return Effect.fail(new WorkflowError({ ...ms, field: "delay", message: ms.message.replace("every", "delay") }))
    }
    return write(workflow, payload, { id: options.id, at: now + ms.everyMs! }, true)
  })

/** Changes a schedule's timing, keeping what `timing` does not name. An unknown id is `InvalidPayload` naming `id`. */
export const update = Effect.fn("WorkflowSchedule.update")(function* (id: string, timing: Timing) {
  const engine = Engine.of(yield* WorkflowEngine)
  const schedules = yield* Internal.storeOf(engine)
  for (;;) {
    const row = yield* found(schedules.get(id), id)
    const spec = Internal.readSpec(row.spec)!
    const kept = Internal.optionsOf(spec)
    // A new cron keeps the time zone unless given; a new interval replaces the cron and its zone.
    const timed: Internal.SpecOptions = timing.cron !== undefined
      ? { cron: timing.cron, timezone: timing.timezone ?? kept.timezone }
      : timing.every !== undefined
      ? { every: timing.every, timezone: timing.timezone }
      : { cron: kept.cron, every: kept.every, at: kept.at, timezone: timing.timezone ?? kept.timezone }
    const merged: Internal.SpecOptions = {
      ...timed,
      overlap: timing.overlap ?? kept.overlap,
      catchUp: timing.catchUp ?? kept.catchUp,
      jitter: timing.jitter ?? kept.jitter
    }
    const now = yield* Clock.currentTimeMillis
    const next = Internal.makeSpec(merged, now, timing.every === undefined ? spec.anchor : undefined)
    if (next instanceof WorkflowError) return yield* Effect.fail(next)
    const written = yield* schedules.put(rewrite(row, next, now, !Internal.sameTiming(spec, next)), row.revision)
    if (Option.isSome(written)) {
      yield* Internal.nudge(engine)
      return info(written.value)
    }
  }
})

/** Pauses a schedule: it fires nothing until resumed. */
export const pause = Effect.fn("WorkflowSchedule.pause")(function* (id: string) {
  const engine = Engine.of(yield* WorkflowEngine)
  const schedules = yield* Internal.storeOf(engine)
  const now = yield* Clock.currentTimeMillis
  return info(yield* found(schedules.setPaused(id, true, now), id))
})

/** Resumes a paused schedule from now: fire times missed while paused do not run. */
export const resume = Effect.fn("WorkflowSchedule.resume")(function* (id: string) {
  const engine = Engine.of(yield* WorkflowEngine)
  const schedules = yield* Internal.storeOf(engine)
  for (;;) {
    const row = yield* found(schedules.get(id), id)
    const spec = Internal.readSpec(row.spec)!
    const now = yield* Clock.currentTimeMillis
    const next = row.nextFireAt !== undefined && row.nextFireAt <= now && spec.at === undefined
      ? Internal.nextAfter(spec, now)
      : row.nextFireAt
    const written = yield* schedules.put(
      { ...row, paused: false, nextFireAt: next, dueAt: Internal.dueOf(id, spec, next), updatedAt: now },
      row.revision
    )
    if (Option.isSome(written)) {
      yield* Internal.nudge(engine)
      return info(written.value)
    }
  }
})

/** Deletes a schedule; its executions stay. False when there was none. */
export const remove = Effect.fn("WorkflowSchedule.remove")(function* (id: string) {
  const engine = Engine.of(yield* WorkflowEngine)
  return yield* (yield* Internal.storeOf(engine)).remove(id)
})

/** Every schedule, by id, with its next fire times. */
export const list = Effect.fn("WorkflowSchedule.list")(function* () {
  const engine = Engine.of(yield* WorkflowEngine)
  return (yield* (yield* Internal.storeOf(engine)).list()).map(info)
})

/** One schedule with its next fire times; none for an unknown id. */
export const get = Effect.fn("WorkflowSchedule.get")(function* (id: string) {
  const engine = Engine.of(yield* WorkflowEngine)
  return Option.map(yield* (yield* Internal.storeOf(engine)).get(id), info)
})

/**
 * Fires a schedule now, whatever its timing, overlap and pause: one execution (under its own key, apart from the
 * scheduled fires'); returns its id. The engine must run (or accept) the schedule's workflow.
 */
export const trigger = Effect.fn("WorkflowSchedule.trigger")(function* (id: string) {
  const engine = Engine.of(yield* WorkflowEngine)
  const row = yield* found((yield* Internal.storeOf(engine)).get(id), id)
  const registration = engine.registry.get(row.workflow)
  if (registration === undefined) return yield* Effect.fail(Starts.notRegistered(engine, row.workflow))
  const payload = registration.def.codec.decodePayload(row.payload)
  if (Result.isFailure(payload)) {
    const context = { workflow: row.workflow }
    return yield* Effect.fail(InvalidInput.invalid("InvalidPayload", "The stored payload", payload.failure, context))
  }
  const now = yield* Clock.currentTimeMillis
  const key = Internal.triggerKey(id, now)
  const started = yield* Starts.start(engine, registration.def, payload.success, { idempotencyKey: key })
  return started.executionId
})

/** The idempotency key of a schedule's fire at `fireAt`: its execution's id derives from it and the workflow. */
export const fireKey = (scheduleId: string, fireAt: Date | number): string =>
  Internal.fireKey(scheduleId, typeof fireAt === "number" ? fireAt : fireAt.getTime())

// Private helpers

const write = (
  workflow: Workflow.Any,
  payload: unknown,
  options: Options & { readonly at?: Date | number | DateTime.DateTime | undefined },
  keepExisting: boolean
): Effect.Effect<Schedule, WorkflowError, WorkflowEngine> =>
  Effect.gen(function* () {
    const engine = Engine.of(yield* WorkflowEngine)
    const badId = Internal.checkId(options.id)
    if (badId !== undefined) return yield* Effect.fail(badId)
    const now = yield* Clock.currentTimeMillis
    const checked = Internal.makeSpec(options, now)
    if (checked instanceof WorkflowError) return yield* Effect.fail(checked)
    const codec = engine.registry.get(workflow.name)?.def.codec ??
      Codec.make(workflow.payloadSchema, workflow.successSchema, workflow.errorSchema)
    const encoded = codec.encodePayload(payload)
    if (Result.isFailure(encoded)) {
      const context = { workflow: workflow.name }
      return yield* Effect.fail(InvalidInput.invalid("InvalidPayload", "The payload", encoded.failure, context))
    }
    const schedules = yield* Internal.storeOf(engine)
    for (;;) {
      const existing = yield* schedules.get(options.id)
      if (Option.isNone(existing)) {
        const next = Internal.firstFire(checked, now)
        const row: ScheduleWrite = {
          scheduleId: options.id,
          workflow: workflow.name,
          payload: encoded.success,
          spec: checked,
          paused: false,
          nextFireAt: next,
          dueAt: Internal.dueOf(options.id, checked, next),
          lastFireAt: undefined,
          lastExecutionId: undefined,
          bufferedAt: undefined,
          updatedAt: now
        }
        const written = yield* schedules.put(row, undefined)
        if (Option.isSome(written)) {
          yield* Internal.nudge(engine)
          return info(written.value)
        }
        continue
      }
      const row = existing.value
      if (keepExisting) return info(row)
      const stored = Internal.readSpec(row.spec)
      // An interval keeps its anchor: ensuring the same interval again must not move its fire times.
      const spec = stored?.everyMs !== undefined && stored.everyMs === checked.everyMs
        ? { ...checked, anchor: stored.anchor }
        : checked
      const same = stored !== undefined && row.workflow === workflow.name &&
        JSON.stringify(row.payload) === JSON.stringify(encoded.success) &&
        JSON.stringify(stored) === JSON.stringify(spec)
      if (same) return info(row)
      const retimed = stored === undefined || !Internal.sameTiming(stored, spec)
      const written = yield* schedules.put(
        { ...rewrite(row, spec, now, retimed), workflow: workflow.name, payload: encoded.success },
        row.revision
      )
      if (Option.isSome(written)) {
        yield* Internal.nudge(engine)
        return info(written.value)
      }
    }
  })

/** A row with a new spec, written at `now`; `retime`: its next fire from the new timing. */
const rewrite = (row: ScheduleRecord, spec: Internal.Spec, now: number, retime: boolean): ScheduleWrite => {
  const next = retime ? Internal.firstFire(spec, now) : row.nextFireAt
  return { ...row, spec, nextFireAt: next, dueAt: Internal.dueOf(row.scheduleId, spec, next), updatedAt: now }
}

const found = <E, R>(effect: Effect.Effect<Option.Option<ScheduleRecord>, E, R>, id: string) =>
  Effect.flatMap(effect, (row) =>
    Option.isSome(row)
      ? Effect.succeed(row.value)
      : Effect.fail(
        new WorkflowError({
          reason: "InvalidPayload",
          field: "id",
          expected: "an existing schedule",
          message: `No schedule "${id}"`
        })
      )
  )

const info = (row: ScheduleRecord): Schedule => {
  const spec = Internal.readSpec(row.spec)
  return {
    id: row.scheduleId,
    workflow: row.workflow,
    payload: row.payload,
    cron: spec?.cron,
    timezone: spec?.timezone,
    everyMs: spec?.everyMs,
    at: spec?.at === undefined ? undefined : new Date(spec.at),
    overlap: spec?.overlap ?? "skip",
    catchUp: spec?.catchUp ?? "latest",
    jitterMs: spec?.jitterMs ?? 0,
    paused: row.paused,
    nextFireTimes: spec === undefined ? [] : Internal.upcoming(spec, row.nextFireAt, 5).map((t) => new Date(t)),
    lastFireAt: row.lastFireAt === undefined ? undefined : new Date(row.lastFireAt),
    lastExecutionId: row.lastExecutionId,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt)
  }
}
