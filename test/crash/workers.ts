/**
 * Worker processes of the crash tests (test/crash/child.ts): started on a database with a scenario, watched line by
 * line, SIGKILLed when the test's scope closes if still running; and the two ways a test waits for one to end.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { WorkflowStore } from "@weft/workflow"
import type { scenarios } from "./fixtures.js"

/** A running worker process. */
export interface Worker {
  readonly pid: number
  /** Waits until the worker prints `text` as a whole line; fails if it exits first. */
  readonly line: (text: string) => Effect.Effect<void, Error>
  /** Waits until the worker has exited and its output is closed. */
  readonly exit: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Everything it printed, for failure messages. */
  readonly output: () => string
}

const childScript = fileURLToPath(new URL("./child.ts", import.meta.url))

/** Starts a worker (test/crash/child.ts) on the database `spec` names; SIGKILLed when the scope closes, if still running. */
export const worker = (
  spec: string,
  log: string,
  scenario: keyof typeof scenarios,
  key: string,
  options: {
    /** Execute the workflow (otherwise the worker only recovers what the store holds). */
    readonly start?: boolean
    /** The fault point to SIGKILL itself at: `point` or `point:detail`. */
    readonly kill?: string
    readonly pollIntervalMs?: number
  } = {}
): Effect.Effect<Worker, never, Scope.Scope> =>
  spawnScript(childScript, {
    WEFT_CRASH_DB: spec,
    WEFT_CRASH_SCENARIO: scenario,
    WEFT_CRASH_KEY: key,
    WEFT_CRASH_LOG: log,
    WEFT_CRASH_START: options.start === true ? "1" : "",
    WEFT_CRASH_KILL: options.kill ?? "",
    ...(options.pollIntervalMs === undefined ? {} : { WEFT_CRASH_POLL_MS: String(options.pollIntervalMs) })
  })

/**
 * Starts the TypeScript `script` (a path) as a worker process from the repository root, with `env` added to this
 * process's environment; SIGKILLed when the scope closes, if still running.
 */
export const spawnScript = (script: string, env: Record<string, string>): Effect.Effect<Worker, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--conditions=@weft/source", "--import", "tsx", script], {
          cwd: fileURLToPath(new URL("../..", import.meta.url)),
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, ...env }
        })
      ),
      (child) => Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
    ),
    watch
  )

/** A child process as a `Worker`: its output collected, its lines and its exit awaitable. */
export const watch = (child: ChildProcess): Worker => {
  type Closed = { readonly code: number | null; readonly signal: NodeJS.Signals | null }
  let output = ""
  let pending = ""
  const lines: Array<string> = []
  let closed: Closed | undefined
  const listeners = new Set<() => void>()
  const changed = () => listeners.forEach((listener) => listener())
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk
    const parts = (pending + chunk).split("\n")
    pending = parts.pop()!
    lines.push(...parts)
    changed()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk))
  child.once("close", (code, signal) => {
    closed = { code, signal }
    changed()
  })
  /** Resumes once `ready` gives a result: listens to output and exit until then. */
  const when = <A, E>(ready: () => Effect.Effect<A, E> | undefined) =>
    Effect.callback<A, E>((resume) => {
      const check = () => {
        const done = ready()
        if (done === undefined) return
        listeners.delete(check)
        resume(done)
      }
      listeners.add(check)
      check()
      return Effect.sync(() => void listeners.delete(check))
    })
  return {
    pid: child.pid!,
    output: () => output,
    exit: when(() => (closed === undefined ? undefined : Effect.succeed(closed))),
    line: (text) =>
      when(() =>
        lines.includes(text)
          ? Effect.void
          : closed === undefined
          ? undefined
          : Effect.fail(new Error(`worker ${child.pid} exited before printing "${text}":\n${output}`))
      )
  }
}

/** Waits for the worker to die by SIGKILL at its fault point. */
export const killed = (worker: Worker) =>
  Effect.map(worker.exit, (exit) => assert.deepStrictEqual(exit, { code: null, signal: "SIGKILL" }, worker.output()))

/** Waits for the worker to complete the execution itself and exit cleanly. */
export const completedIn = (worker: Worker, status: WorkflowStore.ExecutionStatus = "succeeded") =>
  Effect.map(worker.exit, (exit) => {
    assert.deepStrictEqual(exit, { code: 0, signal: null }, worker.output())
    assert.include(worker.output(), `complete ${status}\n`)
  })
