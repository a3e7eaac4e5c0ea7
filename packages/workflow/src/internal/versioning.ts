/**
 * Workflow versions: which registration a claimed execution runs on (the version it started on, never another),
 * which version a start records (the newest registered), and the warning when executions of a version this engine
 * does not register are in flight (they wait for a worker that registers it).
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { WorkflowError } from "../WorkflowError.js"
import { type ExecutionRecord, type VersionInFlight, versionOf } from "../WorkflowStore.js"
import type { Engine, Registration, WorkflowDef } from "./definitions.js"
import * as InvalidInput from "./invalidInput.js"
import { sleepLive } from "./time.js"

/** The registration an execution runs on: its own version's, or none when this engine does not register it. */
export const registrationOf = (engine: Engine, record: ExecutionRecord): Registration | undefined =>
  engine.registered.get(record.workflow)?.get(versionOf(record))

/**
 * The definition a start of `def` runs: the newest version this engine registers under its name, else `def` itself
 * (a submit-only engine records the version of the definition it was given). With `exact`, `def`'s own version.
 */
export const startTarget = (engine: Engine, def: WorkflowDef, exact = false): WorkflowDef =>
  (exact ? engine.registered.get(def.name)?.get(def.version)?.def : engine.registry.get(def.name)?.def) ?? def

/**
 * The payload as the version a start runs reads it, when that is not the caller's definition (a caller holding
 * version 1's definition starts version 2, whose payload schema may have changed): decoded with its schema, or the
 * typed error naming the version and field. `payload` itself when they are one.
 */
export const targetPayload = (
  def: WorkflowDef,
  target: WorkflowDef,
  payload: unknown,
  encoded: unknown
): WorkflowError | { readonly payload: unknown } => {
  if (target === def || target.codec === def.codec) return { payload }
  const decoded = target.codec.decodePayload(encoded)
  return Result.isFailure(decoded)
    ? InvalidInput.invalid(
        "InvalidPayload",
        `The payload for version ${target.version}, the newest registered (the caller's definition is version ${def.version}),`,
        decoded.failure,
        { workflow: def.name }
      )
    : { payload: decoded.success }
}

/** A version's live executions, and whether this engine runs that version. */
export interface VersionInfo extends VersionInFlight {
  readonly registered: boolean
}

/** The versions in flight of `workflows` (all when none given), each marked with whether this engine runs it. */
export const inFlight = (
  engine: Engine,
  workflows?: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<VersionInfo>, WorkflowError> => {
  const versions = engine.store.versions
  if (versions === undefined) return Effect.succeed([])
  return Effect.map(versions(workflows), (found) =>
    found.map((v) => ({ ...v, registered: engine.registered.get(v.workflow)?.has(v.version) ?? false }))
  )
}

/** How long after a registration the check waits for the rest of a layer's registrations (real time). */
const SETTLE_MS = 1_000

const pending = new WeakMap<Engine, Set<string>>()

/**
 * After registrations settle, warns once per workflow when live executions of it are on a version this engine does
 * not register: they wait for a worker that does (a deploy that dropped a version while its executions were in flight).
 */
export const checkInFlight = (engine: Engine, workflow: string): Effect.Effect<void> => {
  let names = pending.get(engine)
  if (names === undefined) pending.set(engine, (names = new Set()))
  if (names.has(workflow) || engine.store.versions === undefined) return Effect.void
  names.add(workflow)
  const check = Effect.gen(function* () {
    yield* sleepLive(SETTLE_MS)
    names.delete(workflow)
    if (engine.closed) return
    const missing = (yield* inFlight(engine, [workflow])).filter((v) => !v.registered)
    if (missing.length === 0) return
    yield* Effect.logWarning(unserved(engine, workflow, missing)).pipe(Effect.annotateLogs({ "weft.workflow": workflow }))
  })
  return Effect.asVoid(
    Effect.forkIn(
      Effect.catchCause(check, (cause) => Effect.logDebug("Weft: could not list the versions in flight", cause)),
      engine.scope
    )
  )
}

const unserved = (engine: Engine, workflow: string, missing: ReadonlyArray<VersionInfo>): string => {
  const here = engine.claimable.get(workflow) ?? []
  const list = missing.map((v) => `version ${v.version} (${v.running} running, ${v.suspended} suspended)`).join(", ")
  return `Weft: workflow "${workflow}" has executions in flight on ${list}, which this engine does not register ` +
    `(it runs version${here.length === 1 ? "" : "s"} ${here.join(", ")}). Only a worker that registers their ` +
    `version runs them; if none does, they wait: keep each version's definition registered ` +
    `(Workflow.make({ name, version })) until its executions end. WorkflowEngine.versions() and \`weft versions\` ` +
    `list what is in flight.`
}
