import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    globalSetup: ["test/setup/postgres.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
