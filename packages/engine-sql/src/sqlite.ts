/**
 * @weft/engine-sql/sqlite: the engine on one SQLite file and its client, over `better-sqlite3`; never loads `pg`.
 */
export * as SqliteClient from "./SqliteClient.js"
export * as SqliteEngine from "./SqliteEngine.js"
