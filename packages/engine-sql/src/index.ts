/**
 * @weft/engine-sql: durable Weft engines over SQL.
 */
export * as PgDriver from "./PgDriver.js"
export * as SqlEngine from "./SqlEngine.js"
export * as SqliteClient from "./SqliteClient.js"
export * as SqlStore from "./SqlStore.js"
