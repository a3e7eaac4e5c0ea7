/**
 * Child processes for the multi-process tests: start a script under tsx, wait for its "ready" line, stop it
 * with the scope; and a listener counting the executions the instrumentation announces as done.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Effect from "effect/Effect"
import pg from "pg"

/** A started child process. */
export interface Child {
  readonly id: string
  readonly child: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Null while it runs. */
  readonly exitCode: () => number | null
  /** What it wrote to stdout so far. */
  readonly stdout: () => string
}

/** Starts `script` with `args` and waits until it prints "ready"; SIGTERMs it when the scope closes. */
export const start = (script: string, id: string, args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.callback<Child, Error>((resume) => {
      const child = spawn(process.execPath, ["--conditions=@weft/source", "--import", "tsx", script, ...args], {
        stdio: ["pipe", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      let status: number | null = null
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => {
          status = code ?? -1
          resolve({ code, signal })
        })
      )
      const started: Child = { id, child, exited, exitCode: () => status, stdout: () => stdout }
      child.stderr!.on("data", (chunk) => {
        stderr += chunk
        if (process.env.WEFT_WORKER_LOGS !== undefined) process.stderr.write(`[${id}] ${chunk}`)
      })
      child.stdout!.on("data", (chunk) => {
        const before = stdout.includes("ready\n")
        stdout += chunk
        if (!before && stdout.includes("ready\n")) resume(Effect.succeed(started))
      })
      void exited.then(({ code, signal }) => {
        if (stdout.includes("ready\n")) return
        resume(Effect.fail(new Error(`${id} exited (${code ?? signal}) before it was ready: ${stderr}`)))
      })
    }),
    (started) =>
      Effect.promise(() => {
        if (started.exitCode() === null) started.child.kill("SIGTERM")
        return started.exited
      })
  )

/** Listens for the instrumentation's completion notices (`weft_test_done`) and counts the distinct executions. */
export const listenDone = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      const done = new Set<string>()
      const waiters: Array<{ readonly count: number; readonly resolve: () => void }> = []
      client.on("notification", (message) => {
        if (message.channel !== "weft_test_done" || message.payload === undefined) return
        done.add(message.payload)
        for (const waiter of waiters) if (done.size >= waiter.count) waiter.resolve()
      })
      await client.query("LISTEN weft_test_done")
      return {
        client,
        /** How many executions were announced as done so far. */
        count: () => done.size,
        /** Resolves once `count` executions were announced as done. */
        reached: (count: number) =>
          new Promise<void>((resolve) => {
            if (done.size >= count) resolve()
            else waiters.push({ count, resolve })
          })
      }
    }),
    ({ client }) => Effect.promise(() => client.end())
  )
