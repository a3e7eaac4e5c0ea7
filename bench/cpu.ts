/**
 * CPU time spent during a stretch, by this process and by the local database server: on a shared
 * machine wall time varies with the neighbours, CPU time per unit of work much less, and the two
 * together tell whether a run waited on the database, on this process, or on neither.
 */
import { readdirSync, readFileSync } from "node:fs"

/** CPU milliseconds (user + system) so far; subtract two to measure a stretch. */
export interface CpuSample {
  readonly process: number
  /** Summed over the live `postgres` processes; undefined when not asked for or where /proc shows none (remote server). */
  readonly server: number | undefined
}

const TICK_MS = 10 // USER_HZ is 100 on Linux

const serverMs = (): number | undefined => {
  let total = 0
  let seen = false
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return undefined
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const close = stat.lastIndexOf(")")
      if (stat.slice(stat.indexOf("(") + 1, close) !== "postgres") continue
      const fields = stat.slice(close + 2).split(" ")
      // Fields 14 and 15 of stat (utime, stime); fields[0] here is field 3.
      total += (Number(fields[11]) + Number(fields[12])) * TICK_MS
      seen = true
    } catch {
      // the process ended between the listing and the read
    }
  }
  return seen ? total : undefined
}

/** `server`: whether to read the database server's share (only a local PostgreSQL has one to read). */
export const sample = (server: boolean): CpuSample => {
  const usage = process.cpuUsage()
  return { process: (usage.user + usage.system) / 1_000, server: server ? serverMs() : undefined }
}

/** Microseconds of CPU per unit between two samples, by process and server. */
export const perUnit = (before: CpuSample, after: CpuSample, units: number): Record<string, number> => {
  const result: Record<string, number> = { "node cpu us/activity": ((after.process - before.process) * 1_000) / units }
  if (before.server !== undefined && after.server !== undefined) {
    result["db cpu us/activity"] = ((after.server - before.server) * 1_000) / units
  }
  return result
}
