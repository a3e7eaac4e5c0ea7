/**
 * @weft/engine-sql: durable Weft engines over SQL.
 */
export * as SqlEngine from "./SqlEngine.js"
export * as SqlStore from "./SqlStore.js"
