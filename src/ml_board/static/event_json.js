// Parsing stored event lines. The gym writes Python's JSON, where a score may be `NaN`, `Infinity` or `-Infinity`,
// which JSON.parse rejects: those tokens (outside strings) are read as null, which the read model treats like any
// score that is not a finite number.

const NON_FINITE = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;

/** One stored event line -> its object. Throws on a line that is not JSON even with non-finite numbers as null. */
export function parseEventLine(line) {
  try {
    return JSON.parse(line);
  } catch (err) {
    const fixed = line.replace(NON_FINITE, (token) => (token.startsWith('"') ? token : "null"));
    if (fixed === line) throw err;
    return JSON.parse(fixed);
  }
}
