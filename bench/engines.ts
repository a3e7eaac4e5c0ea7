/**
 * The engines the benchmark measures: each a name and a Layer providing `WorkflowEngine`. Adding a
 * back-end (PostgreSQL, a custom store) is one more entry in `engines`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { WorkflowEngine } from "@weft/workflow"

/**
 * One engine under test. The layer is built afresh for every measured run and torn down after
 * it, so it must start from an empty store (a fresh file, a fresh schema, or a truncating layer).
 */
export interface BenchEngine {
  readonly name: string
  readonly layer: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>
  /** Whether `npm run bench` measures it without `--engine=<name>` or `--engine=all`. */
  readonly byDefault: boolean
  /** Whether its numbers are judged against the targets, which are the in-memory engine's. */
  readonly judged: boolean
}

// Loaded on first use, so a change in progress in the SQL package cannot break the default run.
const sqlite: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown> = Layer.unwrapEffect(
  Effect.map(
    Effect.promise(() => import("@weft/engine-sql")),
    ({ SqlEngine }) => SqlEngine.layerSqlite({ filename: ":memory:" })
  )
)

/** Every engine the bench knows, in table order. */
export const engines: ReadonlyArray<BenchEngine> = [
  { name: "memory", layer: WorkflowEngine.layerMemory, byDefault: true, judged: true },
  { name: "sqlite", layer: sqlite, byDefault: false, judged: false }
]
