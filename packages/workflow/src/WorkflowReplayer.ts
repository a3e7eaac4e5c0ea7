/**
 * Replay tests: record a finished execution's journal to a fixture (`exportExecution`, `weft export`), then replay
 * fixtures against today's code in a test (`replay`); a change that breaks them fails with `NonDeterminismError`.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Engine from "./internal/engine.js"
import * as Replayer from "./internal/replayer.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import { type NonDeterminismError, WorkflowError } from "./WorkflowError.js"
import { eventKinds, statuses, terminal, versionOf } from "./WorkflowStore.js"

/** The format tag every fixture carries (`weft-replay/1`): a fixture of another format is refused, never misread. */
export const FORMAT = Replayer.FORMAT

/**
 * A finished execution's journal as JSON data: its record, its attempts in stored order, its deferreds, clocks and
 * events, and the format tag.
 */
export type Fixture = Replayer.Fixture

/** What a replay that kept to its fixture saw: the end it reached and the steps the body asked for, in order. */
export type Replayed = Replayer.Replayed

const Attempt = Schema.Struct({
  name: Schema.String,
  attempt: Schema.Number,
  exit: Schema.Unknown,
  startedAt: Schema.Number,
  completedAt: Schema.Number
})

/** The schema of a fixture, for reading one from JSON (`fromJson`). */
export const FixtureSchema = Schema.Struct({
  format: Schema.Literal(FORMAT),
  execution: Schema.Struct({
    executionId: Schema.String,
    workflow: Schema.String,
    payload: Schema.Unknown,
    status: Schema.Literals(statuses),
    result: Schema.optionalKey(Schema.Unknown),
    createdAt: Schema.Number,
    updatedAt: Schema.Number,
    version: Schema.optionalKey(Schema.Number)
  }),
  attempts: Schema.Array(Attempt),
  deferreds: Schema.Array(Schema.Struct({ name: Schema.String, exit: Schema.Unknown, completedAt: Schema.Number })),
  clocks: Schema.Array(
    Schema.Struct({ name: Schema.String, wakeAt: Schema.Number, setAt: Schema.optionalKey(Schema.Number) })
  ),
  events: Schema.Array(
    Schema.Struct({ kind: Schema.Literals(eventKinds), at: Schema.Number, detail: Schema.optionalKey(Schema.String) })
  )
})

/**
 * Records a finished execution's journal as a fixture. A live one is `InvalidState` (its journal is not final);
 * an unknown id `ExecutionNotFound`.
 *
 * @example
 * const fixture = yield* WorkflowReplayer.exportExecution(executionId)
 * writeFileSync("test/fixtures/replay/order.json", WorkflowReplayer.toJson(fixture))
 */
export const exportExecution: (
  executionId: string
) => Effect.Effect<Fixture, WorkflowError, WorkflowEngine> = Effect.fn("WorkflowReplayer.exportExecution")(function* (
  executionId: string
) {
  const detail = yield* (yield* WorkflowEngine).detail(executionId)
  if (Option.isNone(detail)) {
    return yield* Effect.fail(
      new WorkflowError({ reason: "ExecutionNotFound", executionId, message: `No execution ${executionId}` })
    )
  }
  const { attempts, clocks, deferreds, events, execution } = detail.value
  if (!terminal.has(execution.status)) {
    return yield* Effect.fail(
      new WorkflowError({
        reason: "InvalidState",
        workflow: execution.workflow,
        executionId,
        message: `Execution ${executionId} is ${execution.status}: only a finished execution's journal is a fixture`
      })
    )
  }
  const fixture: Fixture = {
    format: FORMAT,
    execution: {
      executionId,
      workflow: execution.workflow,
      payload: execution.payload,
      status: execution.status,
      result: execution.result,
      createdAt: execution.createdAt,
      updatedAt: execution.updatedAt,
      version: versionOf(execution)
    },
    attempts,
    deferreds,
    clocks,
    events
  }
  // Through JSON text once, so what is returned is what a file holds (no undefined fields, no class instances).
  return JSON.parse(JSON.stringify(fixture)) as Fixture
})

/** A fixture as JSON text, two-space indented. */
export const toJson = (fixture: Fixture): string => `${JSON.stringify(fixture, null, 2)}\n`

/** Reads a fixture from JSON text; text that is not one (or of another format) is `InvalidPayload` saying why. */
export const fromJson = (text: string): Effect.Effect<Fixture, WorkflowError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new WorkflowError({ reason: "InvalidPayload", message: `A replay fixture is not JSON: ${String(error)}` })
  }).pipe(
    Effect.flatMap((json) =>
      Effect.mapError(
        Schema.decodeUnknownEffect(FixtureSchema)(json),
        (issue) =>
          new WorkflowError({ reason: "InvalidPayload", message: `Not a ${FORMAT} replay fixture: ${issue.message}` })
      )
    ),
    Effect.map((fixture) => fixture as Fixture)
  )

/**
 * Replays a fixture against the body that the engine in context registered for its workflow (and the children it
 * starts), without running any activity body: every step is answered from the fixture, on a private in-memory engine.
 * Fails with `NonDeterminismError` naming the workflow, execution and step when the body asks for a step the fixture
 * does not hold, would run another attempt of one, skips one it holds, asks for one before a step the recording
 * finished before it started, finds a stored result that no longer decodes, sleeps or waits where the recording did
 * not, or ends differently (status or encoded result). Sleeps the fixture holds are over at once.
 *
 * @example
 * const replayed = yield* WorkflowReplayer.replay(fixture).pipe(
 *   Effect.provide(OrderLive),
 *   Effect.provide(WorkflowEngine.layerMemory)
 * )
 */
export const replay: (
  fixture: Fixture
) => Effect.Effect<Replayed, NonDeterminismError | WorkflowError, WorkflowEngine> = Effect.fn(
  "WorkflowReplayer.replay"
)(function* (fixture: Fixture) {
  return yield* Replayer.replay(Engine.of(yield* WorkflowEngine), fixture)
})
