/**
 * `describe`: a workflow's body run on a sandbox engine where every step is answered with a value generated from its
 * success schema (effect's `Arbitrary`), and each step recorded as it is first met; no activity body runs.
 */
import * as Arbitrary from "effect/Arbitrary"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { WorkflowError } from "../WorkflowError.js"
import type { ExecutionStatus } from "../WorkflowStore.js"
import type * as Codec from "./codec.js"
import * as Discovery from "./discovery.js"
import type * as Engine from "./engine.js"
import { stableId } from "./hash.js"
import * as Names from "./reserved.js"
import * as Sandbox from "./sandbox.js"
import * as Signals from "./signals.js"
import * as Starts from "./starts.js"

/** One step of a workflow's shape, in the order the body first asked for it. */
export type Step =
  | {
    readonly _tag: "Activity"
    readonly name: string
    readonly success: Discovery.JsonSchemaOf
    readonly error: Discovery.JsonSchemaOf
  }
  | { readonly _tag: "Sleep"; readonly name: string; readonly durationMs: number }
  | {
    readonly _tag: "Wait"
    readonly name: string
    /** Its schemas, when its definition was given (`deferreds`); else the wait is where describing stopped. */
    readonly success: Discovery.JsonSchemaOf | undefined
    readonly error: Discovery.JsonSchemaOf | undefined
    readonly timeoutMs: number | undefined
  }
  | {
    readonly _tag: "Queue"
    readonly queue: string
    readonly key: string
    readonly payload: Discovery.JsonSchemaOf | undefined
    readonly success: Discovery.JsonSchemaOf | undefined
  }
  | {
    readonly _tag: "Child"
    readonly workflow: string
    readonly payload: Discovery.JsonSchemaOf
    readonly success: Discovery.JsonSchemaOf
    readonly error: Discovery.JsonSchemaOf
    /** Whether the parent waits for its result (false: started with `discard`). */
    readonly awaited: boolean
  }
  | { readonly _tag: "Note"; readonly message: string }

/** A workflow's static shape, as one run with generated values met it. */
export interface Shape {
  readonly workflow: string
  /** The payload the body ran with: the one given, or one generated from the payload schema. */
  readonly payload: unknown
  readonly steps: ReadonlyArray<Step>
  /** How that run ended (`suspended`: it stopped at a wait it could not answer, see `stoppedAt`). */
  readonly end: ExecutionStatus
  /** Why describing stopped before the end, if it did. */
  readonly stoppedAt: string | undefined
}

/** Definitions `describe` answers waits with: a deferred's or a queue's schemas are only known from them. */
export interface Definitions {
  readonly deferreds?: ReadonlyArray<{ readonly name: string; readonly codec: Codec.Codec }> | undefined
  readonly queues?: ReadonlyArray<{ readonly name: string; readonly codec: Codec.Codec }> | undefined
  /** The seed of the generated values (default "weft"): the same seed, the same values, the same path. */
  readonly seed?: string | undefined
}

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

/** Describes workflow `name`, registered on `source`, for `payload` (generated when undefined). */
export const describe = (
  source: Engine.Live,
  name: string,
  payload: Option.Option<unknown>,
  definitions: Definitions
): Effect.Effect<Shape, WorkflowError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const registration = source.registry.get(name)
      if (registration === undefined) {
        return yield* Effect.fail(
          new WorkflowError({
            reason: "NotRegistered",
            workflow: name,
            message: `Describing workflow "${name}": it is not registered on the engine in context; provide its layer`
          })
        )
      }
      const seed = definitions.seed ?? "weft"
      const steps: Array<Mutable<Step>> = []
      const children = new Map<string, Mutable<Extract<Step, { _tag: "Child" }>>>()
      const waits = new Map<string, Mutable<Extract<Step, { _tag: "Wait" }>>>()
      const deferredOf = (deferred: string) => definitions.deferreds?.find((d) => d.name === deferred)
      let executionId = ""
      const sandbox = yield* Sandbox.make({
        source,
        mode: (run, def) => {
          const step = def.name
          if (run.executionId !== executionId) return { _tag: "Body", body: Effect.void }
          if (step.startsWith(Names.NOTE)) {
            return {
              _tag: "Body",
              body: Effect.tap(def.execute, (note: { readonly message: string }) =>
                Effect.sync(() => steps.push({ _tag: "Note", message: note.message }))
              )
            }
          }
          if (step.startsWith(Names.CHILD_START)) {
            const rest = step.slice(Names.CHILD_START.length)
            const workflow = rest.slice(0, rest.lastIndexOf("/"))
            const childId = rest.slice(rest.lastIndexOf("/") + 1)
            const schemas = source.registry.get(workflow)?.def.codec.schemas
            const child: Mutable<Extract<Step, { _tag: "Child" }>> = {
              _tag: "Child",
              workflow,
              payload: Discovery.jsonSchemaOf(schemas?.payload ?? unknownSchema),
              success: Discovery.jsonSchemaOf(schemas?.success ?? unknownSchema),
              error: Discovery.jsonSchemaOf(schemas?.error ?? unknownSchema),
              awaited: false
            }
            children.set(childId, child)
            steps.push(child)
            return { _tag: "Body", body: Effect.succeed(childId) }
          }
          if (step.startsWith(Names.ENQUEUE)) {
            const rest = step.slice(Names.ENQUEUE.length)
            const queue = definitions.queues?.find((q) => rest.startsWith(`${q.name}/`))
            const queueName = queue?.name ?? rest.slice(0, rest.indexOf("/"))
            steps.push({
              _tag: "Queue",
              queue: queueName,
              key: rest.slice(queueName.length + 1),
              payload: queue === undefined
                ? undefined
                : Discovery.jsonSchemaOf(queue.codec.schemas.payload ?? unknownSchema),
              success: queue === undefined ? undefined : Discovery.jsonSchemaOf(queue.codec.schemas.success)
            })
            return { _tag: "Body", body: Effect.void }
          }
          // A compensation is undo work of a failed run: it does not run here either.
          if (Names.isReserved(step)) return { _tag: "Body", body: Effect.void }
          if (!steps.some((s) => s._tag === "Activity" && s.name === step)) {
            steps.push({
              _tag: "Activity",
              name: step,
              success: Discovery.jsonSchemaOf(def.codec.schemas.success),
              error: Discovery.jsonSchemaOf(def.codec.schemas.error)
            })
          }
          return { _tag: "Body", body: generate(def.codec.schemas.success, `${seed}:${step}`) }
        },
        onClock: (id, clock) => {
          const past = { ...clock, wakeAt: 0 }
          if (id !== executionId) return past
          const durationMs = Math.max(0, clock.wakeAt - (clock.setAt ?? clock.wakeAt))
          if (clock.name.startsWith(Names.SLEEP)) {
            steps.push({ _tag: "Sleep", name: clock.name.slice(Names.SLEEP.length), durationMs })
            return past
          }
          if (clock.name.endsWith("/timeout")) {
            const deferred = clock.name.slice(0, -"/timeout".length)
            const known = deferredOf(deferred)
            const wait: Mutable<Extract<Step, { _tag: "Wait" }>> = {
              _tag: "Wait",
              name: deferred,
              success: known === undefined ? undefined : Discovery.jsonSchemaOf(known.codec.schemas.success),
              error: known === undefined ? undefined : Discovery.jsonSchemaOf(known.codec.schemas.error),
              timeoutMs: durationMs
            }
            waits.set(deferred, wait)
            steps.push(wait)
            // A wait whose definition was given gets a generated value; any other times out at once.
            return known === undefined ? past : clock
          }
          return past
        }
      })
      const engine = sandbox.engine
      const input = Option.isSome(payload)
        ? payload.value
        : yield* generate(registration.def.codec.schemas.payload ?? unknownSchema, `${seed}:payload`)
      // Known before the start, which may run the body's first steps at once.
      executionId = stableId(name, registration.def.idempotencyKey(input))
      yield* Starts.start(engine, registration.def, input)
      let stoppedAt: string | undefined
      for (let round = 0; round < 10_000; round++) {
        const stop = yield* sandbox.next(executionId)
        if (stop === "completed") break
        const seen = sandbox.runs.get(executionId)
        const pending = [...(seen?.run.waiters?.keys() ?? [])].filter((name) => !seen!.run.replay.deferreds.has(name))
        let answered = 0
        for (const deferred of pending) {
          const answer = answerFor(deferred)
          if (answer === undefined) {
            stoppedAt ??= `the wait for "${deferred}": pass its definition in \`deferreds\` (or \`queues\`) to go on`
            continue
          }
          const value = yield* generate(answer.schemas.success, `${seed}:${deferred}`)
          const encoded = answer.encodeExit(Exit.succeed(value))
          if (Result.isFailure(encoded)) return yield* Effect.die(encoded.failure)
          yield* Signals.completeDeferred(engine, executionId, deferred, encoded.success)
          answered++
        }
        if (answered === 0) break
      }
      const end = yield* Effect.map(engine.store.get(executionId), Option.getOrThrow)
      return {
        workflow: name,
        payload: input,
        steps,
        end: end.status,
        stoppedAt: end.status === "suspended" ? stoppedAt ?? "a wait nothing answers" : undefined
      }

      function answerFor(deferred: string): Codec.Codec | undefined {
        if (deferred.startsWith(Names.CHILD_RESULT)) {
          const rest = deferred.slice(Names.CHILD_RESULT.length)
          const child = children.get(rest.slice(rest.lastIndexOf("/") + 1))
          if (child !== undefined) child.awaited = true
          return source.registry.get(rest.slice(0, rest.lastIndexOf("/")))?.def.codec
        }
        if (deferred.startsWith(Names.QUEUE_RESULT)) {
          const rest = deferred.slice(Names.QUEUE_RESULT.length)
          return definitions.queues?.find((q) => rest.startsWith(`${q.name}/`))?.codec
        }
        const known = deferredOf(deferred)
        if (!waits.has(deferred)) {
          const wait: Mutable<Extract<Step, { _tag: "Wait" }>> = {
            _tag: "Wait",
            name: deferred,
            success: known === undefined ? undefined : Discovery.jsonSchemaOf(known.codec.schemas.success),
            error: known === undefined ? undefined : Discovery.jsonSchemaOf(known.codec.schemas.error),
            timeoutMs: undefined
          }
          waits.set(deferred, wait)
          steps.push(wait)
        }
        return known?.codec
      }
    })
  )

/** A shape as a Mermaid flowchart: one node per step, in order, from the workflow to its end. */
export const toMermaid = (shape: Shape): string => {
  const lines = ["flowchart TD", `  start(["${label(shape.workflow)}"])`]
  const ids = ["start"]
  shape.steps.forEach((step, i) => {
    const id = `s${i + 1}`
    ids.push(id)
    lines.push(`  ${id}${node(step)}`)
  })
  const endLabel = shape.stoppedAt === undefined ? `end: ${shape.end}` : `stopped: ${shape.stoppedAt}`
  lines.push(`  finish(["${label(endLabel)}"])`)
  ids.push("finish")
  for (let i = 1; i < ids.length; i++) lines.push(`  ${ids[i - 1]} --> ${ids[i]}`)
  return lines.join("\n")
}

const node = (step: Step): string => {
  switch (step._tag) {
    case "Activity":
      return `["${label(step.name)}"]`
    case "Sleep":
      return `[/"sleep: ${label(step.name)} (${duration(step.durationMs)})"/]`
    case "Wait":
      return `{{"wait: ${label(step.name)}${
        step.timeoutMs === undefined ? "" : ` (timeout ${duration(step.timeoutMs)})`
      }"}}`
    case "Queue":
      return `[("queue: ${label(step.queue)}")]`
    case "Child":
      return `[["child: ${label(step.workflow)}${step.awaited ? "" : " (not awaited)"}"]]`
    case "Note":
      return `>"note: ${label(step.message)}"]`
  }
}

const label = (text: string): string => text.replace(/"/g, "#quot;")

const duration = (ms: number): string => Duration.format(Duration.millis(ms))

const unknownSchema: Schema.Top = Schema.Unknown

/** One value of a schema's type, the same for the same seed. */
const generate = (schema: Schema.Top, seed: string): Effect.Effect<unknown> =>
  Effect.suspend(() => Arbitrary.sampleEffect(Arbitrary.schema(schema), { count: 1, seed })).pipe(
    Effect.map((values) => values[0]),
    Effect.orDie
  )
