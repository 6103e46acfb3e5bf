// Plain data (what JSON holds: maps, lists, strings, numbers, booleans, null) as block-style YAML that PyYAML's
// safe_load (YAML 1.1) reads back to the same data: the resolved config as a researcher writes gs_config.yml.

// Plain (unquoted) strings: words, paths and dotted names. Anything else, and the words YAML 1.1 reads as
// booleans or null, is double-quoted (JSON's escapes are valid in YAML's double-quoted style).
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*(?: [A-Za-z0-9_./-]+)*$/;
const RESERVED = /^(?:y|n|yes|no|on|off|true|false|null|nan|inf)$/i;

function string(s) {
  return PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
}

function number(v) {
  if (Number.isNaN(v)) return ".nan";
  if (!Number.isFinite(v)) return v > 0 ? ".inf" : "-.inf";
  const text = String(v);
  // YAML 1.1 reads an exponent as a float only after a dot: 1e-7 -> 1.0e-7
  return /e/.test(text) && !/\./.test(text) ? text.replace("e", ".0e") : text;
}

function scalar(v) {
  if (v == null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return number(v);
  if (typeof v === "string") return string(v);
  if (Array.isArray(v)) return "[]";       // only empty collections reach here
  if (typeof v === "object") return "{}";
  return string(String(v));
}

const isBlock = (v) => v !== null && typeof v === "object" && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);

function lines(v, indent) {
  const pad = " ".repeat(indent);
  if (!isBlock(v)) return [pad + scalar(v)];
  const out = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if (!isBlock(item)) { out.push(`${pad}- ${scalar(item)}`); continue; }
      const sub = lines(item, indent + 2);
      out.push(`${pad}- ${sub[0].slice(indent + 2)}`, ...sub.slice(1));
    }
    return out;
  }
  for (const [k, item] of Object.entries(v)) {
    if (isBlock(item)) out.push(`${pad}${string(k)}:`, ...lines(item, indent + 2));
    else out.push(`${pad}${string(k)}: ${scalar(item)}`);
  }
  return out;
}

/** `value` as a YAML document (block style, two-space indent, a final newline). */
export function toYaml(value) {
  return `${lines(value, 0).join("\n")}\n`;
}
