/**
 * @weft/engine-sql: durable Weft engines over SQL. This entry loads no database driver: SQLite is
 * `@weft/engine-sql/sqlite`, PostgreSQL `@weft/engine-sql/pg`.
 */
export * as SqlEngine from "./SqlEngine.js"
export * as SqlStore from "./SqlStore.js"
