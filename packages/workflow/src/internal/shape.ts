/**
 * `describe`: a workflow's body run on a sandbox engine where every step is answered with a value generated from its
 * success schema (effect's `Arbitrary`), and each step recorded as it is first met; no activity body runs. Waits
 * (a deferred, a channel's message, a queue's result) are learnt from the definition the body passes (`meet`), so
 * they are answered from their own schemas too.
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
import * as InvalidInput from "./invalidInput.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"
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
    /** Its schemas, as its definition says (undefined only for a wait describing never met: where it stopped). */
    readonly success: Discovery.JsonSchemaOf | undefined
    readonly error: Discovery.JsonSchemaOf | undefined
    readonly timeoutMs: number | undefined
    /** Whether describing walked its timeout path (`expire`) rather than answering it with a value. */
    readonly timedOut: boolean
  }
  | {
    readonly _tag: "Receive"
    readonly channel: string
    /** Which receive of the channel it is in the body's order (1: the first). */
    readonly index: number
    readonly message: Discovery.JsonSchemaOf
    readonly timeoutMs: number | undefined
    /** Whether describing walked its timeout path (`expire`) rather than answering it with a message. */
    readonly timedOut: boolean
  }
  | {
    readonly _tag: "Queue"
    readonly queue: string
    readonly key: string
    /** The item's schema. */
    readonly payload: Discovery.JsonSchemaOf | undefined
    /** The result's schemas. */
    readonly success: Discovery.JsonSchemaOf | undefined
    readonly error: Discovery.JsonSchemaOf | undefined
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

/**
 * What `describe` is given besides the workflow. A deferred's or a queue's definition here replaces the one the body
 * passes only as the schema its generated value comes from (to steer a branch: it must decode under the body's own).
 */
export interface Definitions {
  readonly deferreds?: ReadonlyArray<{ readonly name: string; readonly codec: Codec.Codec }> | undefined
  readonly queues?: ReadonlyArray<{ readonly name: string; readonly codec: Codec.Codec }> | undefined
  /** Deferreds and channels whose waits with a timeout take the timeout path instead of getting a value. */
  readonly expire?:
    | ReadonlyArray<{ readonly _tag: "DurableDeferred" | "DurableChannel"; readonly name: string }>
    | undefined
  /** The seed of the generated values (default "weft"): the same seed, the same values, the same path. */
  readonly seed?: string | undefined
}

/** A wait the body is about to make, with the definition it passes: reported by `meet`. */
export type Met =
  | {
    readonly _tag: "Deferred" | "Channel"
    readonly name: string
    readonly codec: Codec.Codec
    readonly timeoutMs?: number | undefined
  }
  | { readonly _tag: "Queue"; readonly name: string; readonly key: string; readonly codec: Codec.Codec }

const watchers = new WeakMap<object, (run: Run, met: Met) => void>()

/**
 * Reports a wait to the `describe` run whose sandbox engine runs `run` (`DurableDeferred.await`,
 * `DurableChannel.receive` and `DurableQueue.process` call it first); on any other engine, a lookup and nothing else.
 */
export const meet = (run: Run, met: Met): void => {
  watchers.get(run.engine)?.(run, met)
}

/** Whether a describe run watches `run`'s engine: callers build what they `meet` only then (a step's hot path). */
export const watching = (run: Run): boolean => watchers.has(run.engine)

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

/** Describes version `version` of workflow `name`, registered on `source`, for `payload` (generated when undefined). */
export const describe = (
  source: Engine.Live,
  name: string,
  version: number,
  payload: Option.Option<unknown>,
  definitions: Definitions
): Effect.Effect<Shape, WorkflowError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const registration = source.registered.get(name)?.get(version)
      if (registration === undefined) {
        return yield* Effect.fail(
          new WorkflowError({
            reason: "NotRegistered",
            workflow: name,
            message: source.registry.has(name)
              ? `Describing version ${version} of workflow "${name}": the engine in context registers only version ` +
                `${[...(source.registered.get(name)?.keys() ?? [])].join(", ")}; provide that version's layer`
              : `Describing workflow "${name}": it is not registered on the engine in context; provide its layer`
          })
        )
      }
      const seed = definitions.seed ?? "weft"
      const steps: Array<Mutable<Step>> = []
      const children = new Map<string, Mutable<Extract<Step, { _tag: "Child" }>>>()
      /** Each step met, by a key naming it (`wait:`, `receive:`, `queue:`), so a replay lists it once. */
      const seen = new Set<string>()
      /** The codec each wait met is answered from, by the deferred name the runtime waits on. */
      const answers = new Map<string, Codec.Codec>()
      /** The queues met, by name: their results are answered from their codecs. */
      const queues = new Map<string, Codec.Codec>()
      /** How many receives of each channel each run of the body made: the runtime's index of the next one. */
      const receives = new WeakMap<Run, Map<string, number>>()
      const given = (list: Definitions["deferreds"], name: string) => list?.find((d) => d.name === name)?.codec
      const expires = (tag: "DurableDeferred" | "DurableChannel", name: string) =>
        definitions.expire?.some((e) => e._tag === tag && e.name === name) ?? false
      const push = (key: string, step: Mutable<Step>) => {
        if (seen.has(key)) return
        seen.add(key)
        steps.push(step)
      }
      let executionId = ""
      const onMeet = (run: Run, met: Met): void => {
        if (run.executionId !== executionId) return
        switch (met._tag) {
          case "Deferred": {
            answers.set(met.name, given(definitions.deferreds, met.name) ?? met.codec)
            push(`wait:${met.name}`, {
              _tag: "Wait",
              name: met.name,
              success: Discovery.jsonSchemaOf(met.codec.schemas.success),
              error: Discovery.jsonSchemaOf(met.codec.schemas.error),
              timeoutMs: met.timeoutMs,
              timedOut: met.timeoutMs !== undefined && expires("DurableDeferred", met.name)
            })
            return
          }
          case "Channel": {
            let counts = receives.get(run)
            if (counts === undefined) receives.set(run, (counts = new Map()))
            const index = (counts.get(met.name) ?? 0) + 1
            counts.set(met.name, index)
            answers.set(Names.channelMessage(met.name, index), met.codec)
            push(`receive:${met.name}/${index}`, {
              _tag: "Receive",
              channel: met.name,
              index,
              message: Discovery.jsonSchemaOf(met.codec.schemas.success),
              timeoutMs: met.timeoutMs,
              timedOut: met.timeoutMs !== undefined && expires("DurableChannel", met.name)
            })
            return
          }
          case "Queue": {
            queues.set(met.name, met.codec)
            answers.set(Names.queueResult(met.name, met.key), given(definitions.queues, met.name) ?? met.codec)
            push(`queue:${met.name}/${met.key}`, queueStep(met.name, met.key, met.codec))
            return
          }
        }
      }
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
            // Met first (`meet`), as a rule; a hand-over not met is listed by its journal name alone.
            const rest = step.slice(Names.ENQUEUE.length)
            const queue = [...queues.keys()].find((name) => rest.startsWith(`${name}/`)) ??
              rest.slice(0, rest.indexOf("/"))
            const key = rest.slice(queue.length + 1)
            push(`queue:${queue}/${key}`, queueStep(queue, key, queues.get(queue)))
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
          if (clock.name.startsWith(Names.SLEEP)) {
            const durationMs = Math.max(0, clock.wakeAt - (clock.setAt ?? clock.wakeAt))
            steps.push({ _tag: "Sleep", name: clock.name.slice(Names.SLEEP.length), durationMs })
            return past
          }
          if (clock.name.endsWith("/timeout")) {
            const deferred = clock.name.slice(0, -"/timeout".length)
            const message = Names.messageOf(deferred)
            const expired = message === undefined
              ? expires("DurableDeferred", deferred)
              : expires("DurableChannel", message.channel)
            // A wait met is answered with a generated value before its timer fires; any other times out at once.
            return expired || !answers.has(deferred) ? past : clock
          }
          return past
        }
      })
      const engine = sandbox.engine
      watchers.set(engine, onMeet)
      const input = Option.isSome(payload)
        ? payload.value
        : yield* generate(registration.def.codec.schemas.payload ?? unknownSchema, `${seed}:payload`)
      // Checked here as the start checks it: the execution id below asks the payload for its idempotency key.
      const fits = registration.def.codec.encodePayload(input)
      if (Result.isFailure(fits)) {
        const error = InvalidInput.invalid("InvalidPayload", "The payload", fits.failure, { workflow: name })
        return yield* Effect.fail(error)
      }
      // Known before the start, which may run the body's first steps at once.
      executionId = stableId(name, registration.def.idempotencyKey(input))
      yield* Starts.start(engine, registration.def, input, { exact: true })
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
            stoppedAt ??= `the wait for "${deferred}": its definition was never met`
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
        const known = answers.get(deferred)
        if (known !== undefined) return known
        if (deferred.startsWith(Names.QUEUE_RESULT) || Names.messageOf(deferred) !== undefined) return undefined
        // Not met: only a `deferreds` definition answers it (a wait made without `DurableDeferred.await`).
        const fallback = given(definitions.deferreds, deferred)
        push(`wait:${deferred}`, {
          _tag: "Wait",
          name: deferred,
          success: fallback === undefined ? undefined : Discovery.jsonSchemaOf(fallback.schemas.success),
          error: fallback === undefined ? undefined : Discovery.jsonSchemaOf(fallback.schemas.error),
          timeoutMs: undefined,
          timedOut: false
        })
        return fallback
      }
    })
  )

const queueStep = (queue: string, key: string, codec: Codec.Codec | undefined): Mutable<Step> => ({
  _tag: "Queue",
  queue,
  key,
  payload: codec === undefined ? undefined : Discovery.jsonSchemaOf(codec.schemas.payload ?? unknownSchema),
  success: codec === undefined ? undefined : Discovery.jsonSchemaOf(codec.schemas.success),
  error: codec === undefined ? undefined : Discovery.jsonSchemaOf(codec.schemas.error)
})

/**
 * A shape as a Mermaid flowchart: one node per step, in order, from the workflow to its end. A wait, a receive and a
 * queue hand-over name their schemas in short (TypeScript-like, from the JSON Schema); a timed wait says which of
 * its two paths was walked.
 */
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
      return `{{"${
        lines(
          `wait: ${step.name}${timed(step.timeoutMs, step.timedOut, "value")}`,
          step.success === undefined ? undefined : `success: ${typeOf(step.success)}`,
          step.error === undefined || typeOf(step.error) === "never" ? undefined : `error: ${typeOf(step.error)}`
        )
      }"}}`
    case "Receive":
      return `{{"${
        lines(
          `receive: ${step.channel}${step.index > 1 ? ` #${step.index}` : ""}${
            timed(step.timeoutMs, step.timedOut, "message")
          }`,
          `message: ${typeOf(step.message)}`
        )
      }"}}`
    case "Queue":
      return `[("${
        lines(
          `queue: ${step.queue}`,
          step.payload === undefined ? undefined : `item: ${typeOf(step.payload)}`,
          step.success === undefined ? undefined : `result: ${typeOf(step.success)}`,
          step.error === undefined || typeOf(step.error) === "never" ? undefined : `error: ${typeOf(step.error)}`
        )
      }")]`
    case "Child":
      return `[["child: ${label(step.workflow)}${step.awaited ? "" : " (not awaited)"}"]]`
    case "Note":
      return `>"note: ${label(step.message)}"]`
  }
}

/** A timed wait's note: its timeout and which path describing walked (the shape has no branches). */
const timed = (timeoutMs: number | undefined, timedOut: boolean, answer: "value" | "message"): string =>
  timeoutMs === undefined ? "" : ` (timeout ${duration(timeoutMs)}, ${timedOut ? "timeout" : answer} path)`

/** A node's lines, each escaped, joined by Mermaid's line break. */
const lines = (...parts: ReadonlyArray<string | undefined>): string =>
  parts.filter((part) => part !== undefined).map(label).join("<br>")

const label = (text: string): string => text.replace(/"/g, "#quot;")

const duration = (ms: number): string => Duration.format(Duration.millis(ms))

/** A JSON Schema in short, as a TypeScript-like type: `{ ok: boolean }`, `string[]`, `"a" | "b"`. */
const typeOf = (described: Discovery.JsonSchemaOf): string => {
  if (described._tag === "Unsupported") return "unsupported"
  const text = short(described.schema, 0)
  return text.length > 120 ? `${text.slice(0, 119)}…` : text
}

const short = (schema: Schema.Json, depth: number): string => {
  if (schema === true) return "unknown"
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return "never"
  const s = schema as { readonly [key: string]: Schema.Json }
  const keys = Object.keys(s)
  if (keys.length === 0) return "unknown"
  if (isObject(s.not) && Object.keys(s.not).length === 0) return "never"
  if (typeof s.$ref === "string") return s.$ref.slice(s.$ref.lastIndexOf("/") + 1)
  if ("const" in s) return JSON.stringify(s.const)
  if (Array.isArray(s.enum)) return s.enum.map((value) => JSON.stringify(value)).join(" | ")
  const union = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined
  if (union !== undefined) return [...new Set(union.map((member) => short(member, depth)))].join(" | ")
  if (Array.isArray(s.allOf)) return s.allOf.map((member) => short(member, depth)).join(" & ")
  if (Array.isArray(s.type)) return s.type.map((type) => short({ type }, depth)).join(" | ")
  switch (s.type) {
    case "object": {
      if (depth >= 3) return "{…}"
      if (isObject(s.properties)) {
        const required = new Set(Array.isArray(s.required) ? s.required : [])
        const fields = Object.entries(s.properties).map(([key, value]) =>
          `${key}${required.has(key) ? "" : "?"}: ${short(value, depth + 1)}`
        )
        return fields.length === 0 ? "{}" : `{ ${fields.join(", ")} }`
      }
      if (!isObject(s.additionalProperties)) return "object"
      return `{ [key: string]: ${short(s.additionalProperties, depth + 1)} }`
    }
    case "array": {
      if (Array.isArray(s.prefixItems)) return `[${s.prefixItems.map((item) => short(item, depth + 1)).join(", ")}]`
      if (s.items === undefined) return "unknown[]"
      const item = short(s.items, depth + 1)
      return item.includes(" ") ? `(${item})[]` : `${item}[]`
    }
    case "string":
    case "number":
    case "integer":
    case "boolean":
    case "null":
      return s.type
  }
  return "unknown"
}

const isObject = (json: Schema.Json | undefined): json is { readonly [key: string]: Schema.Json } =>
  typeof json === "object" && json !== null && !Array.isArray(json)

const unknownSchema: Schema.Top = Schema.Unknown

/** One value of a schema's type, the same for the same seed. */
const generate = (schema: Schema.Top, seed: string): Effect.Effect<unknown> =>
  Effect.suspend(() => Arbitrary.sampleEffect(Arbitrary.schema(schema), { count: 1, seed })).pipe(
    Effect.map((values) => values[0]),
    Effect.orDie
  )
