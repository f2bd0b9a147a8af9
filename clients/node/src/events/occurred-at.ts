// An event's `occurredAt` as writers write it: epoch milliseconds (N), or an RFC 3339 time (S),
// what `new Date().toISOString()` gives. Epoch seconds are refused rather than read 1,000× off.
// The same rules, and the same calendar arithmetic, as the Rust reader's.
import { safeInteger } from "../dynamo/attributes.js";

/** Epoch seconds of 2001-09-09 up to 2286-11-20: as milliseconds, January to April 1970. */
const SECONDS = { from: 1_000_000_000, below: 10_000_000_000 };

export type OccurredAt = { ms: number } | { inSeconds: number } | { unreadable: string };

/** Epoch milliseconds from an N attribute's text. */
export function fromNumber(text: string): OccurredAt {
  const ms = safeInteger(text);
  if (ms === undefined) return { unreadable: text };
  if (ms >= SECONDS.from && ms < SECONDS.below) return { inSeconds: ms };
  return { ms };
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/** Epoch milliseconds from `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (fractions past the ms are cut). */
export function fromText(text: string): OccurredAt {
  const m = RFC3339.exec(text);
  if (!m) return { unreadable: text };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  const [offsetHours, offsetMinutes] = [Number(m[10] ?? 0), Number(m[11] ?? 0)];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (daysInMonth === undefined || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return { unreadable: text };
  }
  if (offsetHours > 23 || offsetMinutes > 59) return { unreadable: text };
  const offset = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
  return { ms: (seconds - offset * 60) * 1_000 + millis };
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
