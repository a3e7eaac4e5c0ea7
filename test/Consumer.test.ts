/**
 * Weft as a new user gets it, outside this repository: every package built and packed, a fresh project in a temp
 * folder installing the tarballs, `effect` and only the SQLite driver. A workflow runs there on plain `node`, a
 * strict NodeNext TypeScript file type-checks against the shipped .d.ts, and no PostgreSQL module is loaded.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"

const root = resolve(import.meta.dirname, "..")
const fixtures = join(root, "test", "consumer")

// The inner npm must see the consumer project, not this one: drop what the outer `npm test` put in the
// environment (npm_config_local_prefix points at this repository), keeping the cache and registry settings.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) =>
    !key.toLowerCase().startsWith("npm_") ||
    ["npm_config_cache", "npm_config_registry", "npm_config_userconfig"].includes(key.toLowerCase())
  )
)

type Options = SpawnSyncOptions & { readonly timeout: number }

const run = (command: string, args: ReadonlyArray<string>, options: Options) => {
  const result = spawnSync(command, args, { encoding: "utf8", env, ...options })
  const stdout = String(result.stdout ?? "")
  return { status: result.status, signal: result.signal, stdout, out: `${stdout}\n${String(result.stderr ?? "")}` }
}

const ok = (command: string, args: ReadonlyArray<string>, options: Options) => {
  const result = run(command, args, options)
  assert.strictEqual(result.status, 0, `${command} ${args.join(" ")} failed:\n${result.out}`)
  return result
}

const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version

/** The URLs a program's imports resolved to, recorded by test/consumer/load-hooks.mjs. */
const loadsOf = (file: string): Array<string> => readFileSync(file, "utf8").split("\n").filter((line) => line !== "")

const isPg = (url: string) => /\/node_modules\/(pg|pg-[a-z-]+|@effect\/sql-pg)\//.test(url)
const isSqlite = (url: string) => url.includes("/node_modules/better-sqlite3/")

describe("a project outside the repository, on the packed packages", () => {
  let work = ""
  let app = ""

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "weft-consumer-"))
    app = join(work, "app")
    const tarballs = join(work, "tarballs")
    mkdirSync(app)
    mkdirSync(tarballs)
    ok("npm", ["run", "build"], { cwd: root, timeout: 180_000 })
    // The build just ran: skip each package's `prepack` (the same build).
    const packed = ok("npm", ["pack", "--workspaces", "--ignore-scripts", "--json", "--pack-destination", tarballs], {
      cwd: root,
      timeout: 60_000
    })
    const packages = (JSON.parse(packed.stdout) as Array<{ readonly name: string; readonly filename: string }>).map(
      ({ filename, name }) => [name, `file:${join(tarballs, filename)}`] as const
    )
    assert.deepStrictEqual(packages.map(([name]) => name).sort(), [
      "@weft/cli",
      "@weft/dashboard",
      "@weft/engine-sql",
      "@weft/proxy",
      "@weft/workflow"
    ])
    // The libraries only: the CLI is an application installed on its own, and it brings both drivers.
    const files = packages.filter(([name]) => name !== "@weft/cli")
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "weft-consumer",
        private: true,
        type: "module",
        dependencies: {
          ...Object.fromEntries(files),
          effect: versionOf("effect"),
          // This repository's copy, already built for this machine (a link): installing better-sqlite3 afresh
          // compiles or downloads its native module, a minute or more, or fails offline.
          "better-sqlite3": `file:${join(root, "node_modules", "better-sqlite3")}`,
          "@types/node": versionOf("@types/node")
        }
      }, null, 2)
    )
    // No pg, no @effect/sql-pg: a program that imported them would fail with ERR_MODULE_NOT_FOUND.
    ok("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
      cwd: app,
      timeout: 180_000
    })
    for (const file of ["remind.mjs", "app.ts", "record-loads.mjs", "load-hooks.mjs"]) {
      copyFileSync(join(fixtures, file), join(app, file))
    }
    copyFileSync(join(fixtures, "tsconfig.app.json"), join(app, "tsconfig.json"))
  }, 400_000)

  afterAll(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true })
  })

  it("runs a workflow on SQLite with plain node, resuming after a crash without running the activity again", () => {
    const sends = join(app, "sends.txt")
    const args = ["--import", "./record-loads.mjs", "remind.mjs", join(app, ".weft", "remind.db"), sends]
    const crashed = run(process.execPath, [...args, "crash"], {
      cwd: app,
      timeout: 30_000,
      env: { ...env, WEFT_LOADS: join(app, "loads-crash.txt") }
    })
    assert.strictEqual(crashed.signal, "SIGKILL", crashed.out)
    assert.strictEqual(loadsOf(sends).length, 1)

    const resumed = ok(process.execPath, args, {
      cwd: app,
      timeout: 30_000,
      env: { ...env, WEFT_LOADS: join(app, "loads.txt") }
    })
    const report = JSON.parse(resumed.stdout.trim().split("\n").at(-1) ?? "") as {
      readonly result: string
      readonly status: string
      readonly events: ReadonlyArray<string>
      readonly clocks: number
    }
    assert.deepStrictEqual(report.result, "reminded ada, then slept")
    assert.deepStrictEqual(report.status, "succeeded")
    assert.include(report.events, "suspended")
    assert.strictEqual(report.clocks, 1)
    // The activity's body ran once, in the process that crashed.
    assert.strictEqual(loadsOf(sends).length, 1)
  }, 90_000)

  it("loads no PostgreSQL module: pg is not installed, and no import of the SQLite program resolved to it", () => {
    const missing = run(process.execPath, ["--input-type=module", "-e", "await import('pg')"], {
      cwd: app,
      timeout: 30_000
    })
    assert.include(missing.out, "ERR_MODULE_NOT_FOUND")
    for (const file of ["loads-crash.txt", "loads.txt"]) {
      const loads = loadsOf(join(app, file))
      // The hook saw the program's modules, the SQLite driver's among them.
      assert.isTrue(loads.some((url) => url.endsWith("/node_modules/@weft/engine-sql/dist/sqlite.js")), file)
      assert.isTrue(loads.some(isSqlite), file)
      assert.deepStrictEqual(loads.filter(isPg), [], file)
    }
  })

  it("type-checks a strict NodeNext TypeScript file against the shipped .d.ts", () => {
    ok(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], {
      cwd: app,
      timeout: 120_000
    })
  }, 150_000)

  it("the built entries load only their own driver: the main one none, pg not better-sqlite3 (both installed)", () => {
    const importing = (entry: string) => {
      const loads = join(work, `loads-${entry.replaceAll("/", "-")}.txt`)
      ok(process.execPath, [
        "--import",
        join(fixtures, "record-loads.mjs"),
        "--input-type=module",
        "-e",
        `await import(${JSON.stringify(entry)})`
      ], { cwd: root, timeout: 30_000, env: { ...env, WEFT_LOADS: loads } })
      return loadsOf(loads)
    }
    const main = importing("@weft/engine-sql")
    assert.isTrue(main.some((url) => url.endsWith("/packages/engine-sql/dist/index.js")))
    assert.deepStrictEqual(main.filter((url) => isPg(url) || isSqlite(url)), [])
    const pg = importing("@weft/engine-sql/pg")
    assert.isTrue(pg.some(isPg))
    assert.deepStrictEqual(pg.filter(isSqlite), [])
  })
})
