import { defaultClientConditions, defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

// vitest 5's reporter calls Map.groupBy (Node 21+) when a test fails; Node 20 lacks it.
if (typeof (Map as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", {
    configurable: true,
    writable: true,
    value: <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, Array<V>> => {
      const groups = new Map<K, Array<V>>()
      let index = 0
      for (const item of items) {
        const k = key(item, index++)
        const group = groups.get(k)
        if (group === undefined) groups.set(k, [item])
        else group.push(item)
      }
      return groups
    }
  })
}

// The workspaces resolve to their TypeScript source through the "@weft/source" export condition (no build
// needed). Vite replaces its default conditions with the ones given here, so the defaults are listed too; vitest
// passes the server ones to its worker processes as `--conditions`. Less "module", a bundlers' condition: Node would
// take it too, and `@opentelemetry/api`'s "module" build has extension-less imports that Node cannot load.
export default defineConfig({
  resolve: { conditions: ["@weft/source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["@weft/source", ...defaultServerConditions.filter((condition) => condition !== "module")] } },
  test: {
    include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    globalSetup: ["test/setup/postgres.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
