/**
 * Code samples of Markdown files (README.md, docs/): extracted, type-checked and run as a new user would run
 * them, with tsx's loader on plain `node`. Shared by test/Readme.test.ts and test/Docs.test.ts.
 */
import { execFile, spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { inject } from "vitest"

/** The repository's root. */
export const root = resolve(import.meta.dirname, "..")

const tsxLoader = pathToFileURL(join(root, "node_modules", "tsx", "dist", "loader.mjs")).href

/**
 * The `node` arguments that run a `.ts` sample: tsx's loader, as `npx tsx file.ts` would, with the `@weft/source`
 * condition so the workspace packages resolve to their TypeScript source (no build needed).
 */
export const nodeArgs = (file: string): Array<string> => ["--conditions=@weft/source", "--import", tsxLoader, file]

/** The environment of a sample: PostgreSQL's URL (from the global setup) for those that need it. */
export const sampleEnv = (): NodeJS.ProcessEnv => ({ ...process.env, DATABASE_URL: inject("pgUrl") })

/** The bodies of the ```ts blocks of a Markdown text, in order. Other fences (```text, ```sh) are not samples. */
export const tsBlocks = (markdown: string): Array<string> =>
  [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)

/** Writes a tsconfig in `dir` that checks every `.ts` there under the root's settings (unused locals allowed). */
export const writeTsconfig = (dir: string): string => {
  const file = join(dir, "tsconfig.json")
  const base = relative(dir, join(root, "tsconfig.json"))
  writeFileSync(file, JSON.stringify({ extends: base, include: ["./*.ts"], compilerOptions: { noUnusedLocals: false } }))
  return file
}

/** Type-checks the samples in `dir`: undefined when they pass, else tsc's report. */
export const typecheck = (dir: string): Promise<string | undefined> => {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
  return new Promise((done) =>
    execFile(
      process.execPath,
      [tsc, "-p", writeTsconfig(dir), "--noEmit"],
      { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => done(error === null ? undefined : `${stdout}${stderr}`)
    )
  )
}

/** How a sample's process ended: its exit code (null when killed) and what it printed. */
export interface Outcome {
  readonly status: number | null
  readonly output: string
}

/** Runs one sample in `cwd` (where its files, such as SQLite databases, go), killed after `timeoutMs`. */
export const runSample = (file: string, cwd: string, timeoutMs = 60_000): Promise<Outcome> =>
  new Promise((done) => {
    const child = spawn(process.execPath, nodeArgs(file), { cwd, env: sampleEnv(), stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("close", (status) => {
      clearTimeout(timer)
      done({ status, output })
    })
  })

/** Runs `tasks` with at most `limit` in flight; each promise settles with its own task. */
export const limited = <A>(limit: number, tasks: ReadonlyArray<() => Promise<A>>): Array<Promise<A>> => {
  let active = 0
  const waiting: Array<() => void> = []
  const slot = (): Promise<void> =>
    active < limit ? (active++, Promise.resolve()) : new Promise((resolve) => waiting.push(resolve))
  const release = () => {
    const next = waiting.shift()
    if (next === undefined) active--
    else next()
  }
  return tasks.map((task) => slot().then(() => task().finally(release)))
}
