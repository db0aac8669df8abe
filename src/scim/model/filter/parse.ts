/**
 * The SCIM filter language (RFC 7644 §3.4.2.2) as a recursive-descent parser with an explicit
 * depth limit, producing a typed AST. Every failure is a `ScimError` 400 `invalidFilter` whose
 * detail says what is wrong and where, never another exception.
 *
 * Beyond the RFC, it reads Microsoft's `emails[type eq "work"].value eq "x"` (a value path with a
 * sub-attribute compared outside the brackets) as `emails[type eq "work" and value eq "x"]`.
 */
import { ScimError } from "../errors";

export type CompareOp = "eq" | "ne" | "co" | "sw" | "ew" | "gt" | "ge" | "lt" | "le";
export type CompareValue = string | number | boolean | null;

/** `[schema:]attribute[.subAttribute]`; `schema` is the URN before the last colon, if any. */
export interface AttrPath {
  schema?: string;
  attribute: string;
  subAttribute?: string;
}

export type Filter =
  | { kind: "compare"; path: AttrPath; op: CompareOp; value: CompareValue }
  | { kind: "present"; path: AttrPath }
  | { kind: "and"; filters: Filter[] }
  | { kind: "or"; filters: Filter[] }
  | { kind: "not"; filter: Filter }
  /** `attribute[filter]`: some element of the multi-valued attribute matches `filter`. */
  | { kind: "valuePath"; path: AttrPath; filter: Filter };

/** Limits that keep hostile filters from exhausting the stack or the database. */
export const FILTER_LIMITS = { maxLength: 4096, maxDepth: 32, maxTerms: 100 } as const;

const COMPARE_OPS = new Set<string>(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]);

type Token =
  | { type: "word"; text: string; at: number }
  | { type: "string"; value: string; at: number }
  | { type: "number"; value: number; at: number }
  | { type: "("; at: number }
  | { type: ")"; at: number }
  | { type: "["; at: number }
  | { type: "]"; at: number }
  | { type: "end"; at: number };

function invalid(detail: string): never {
  throw new ScimError(400, `Invalid filter: ${detail}`, "invalidFilter");
}

const WORD = /[A-Za-z0-9_$:.+\-]/;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      i++;
      continue;
    }
    if (ch === "(" || ch === ")" || ch === "[" || ch === "]") {
      tokens.push({ type: ch, at: i });
      i++;
      continue;
    }
    if (ch === '"') {
      const start = i;
      i++;
      let raw = '"';
      let closed = false;
      while (i < input.length) {
        const c = input[i]!;
        if (c === "\\") {
          raw += c + (input[i + 1] ?? "");
          i += 2;
          continue;
        }
        raw += c;
        i++;
        if (c === '"') {
          closed = true;
          break;
        }
      }
      if (!closed) invalid(`unterminated string starting at position ${start + 1}.`);
      let value: string;
      try {
        value = JSON.parse(raw.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)) as string;
      } catch {
        invalid(`bad escape sequence in the string starting at position ${start + 1}.`);
      }
      tokens.push({ type: "string", value, at: start });
      continue;
    }
    if (WORD.test(ch)) {
      const start = i;
      while (i < input.length && WORD.test(input[i]!)) i++;
      const text = input.slice(start, i);
      if (/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) {
        tokens.push({ type: "number", value: Number(text), at: start });
      } else {
        // Anything else, a timestamp like 2015-10-10T14:38:21.86-07:00 included, is a word; in a
        // value's place it reads as a string (see #comparison).
        tokens.push({ type: "word", text, at: start });
      }
      continue;
    }
    invalid(`unexpected character '${ch}' at position ${i + 1}.`);
  }
  tokens.push({ type: "end", at: input.length });
  return tokens;
}

/** Splits `urn:…:User:name.givenName` into schema, attribute and sub-attribute. */
export function parseAttrPath(text: string, position?: number): AttrPath {
  const where = position === undefined ? "" : ` at position ${position + 1}`;
  const colon = text.lastIndexOf(":");
  const schema = colon >= 0 ? text.slice(0, colon) : undefined;
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  const parts = rest.split(".");
  const valid = (name: string | undefined) => name !== undefined && /^[A-Za-z$][A-Za-z0-9_$-]*$/.test(name);
  if (parts.length > 2 || !valid(parts[0]) || (parts.length === 2 && !valid(parts[1]))) {
    invalid(`'${text}'${where} is not an attribute path.`);
  }
  if (schema !== undefined && !/^urn:[A-Za-z0-9][A-Za-z0-9-]*:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$/i.test(schema)) {
    invalid(`'${schema}'${where} is not a schema URN.`);
  }
  return { ...(schema ? { schema } : {}), attribute: parts[0]!, ...(parts.length === 2 ? { subAttribute: parts[1]! } : {}) };
}

class Parser {
  #pos = 0;
  #depth = 0;
  #terms = 0;

  constructor(readonly tokens: Token[]) {}

  #peek(): Token {
    return this.tokens[this.#pos]!;
  }

  #next(): Token {
    return this.tokens[this.#pos++]!;
  }

  #isWord(token: Token, word: string): boolean {
    return token.type === "word" && token.text.toLowerCase() === word;
  }

  #describe(token: Token): string {
    switch (token.type) {
      case "end":
        return "the end of the filter";
      case "word":
        return `'${token.text}' at position ${token.at + 1}`;
      case "string":
        return `the string ${JSON.stringify(token.value)} at position ${token.at + 1}`;
      case "number":
        return `the number ${token.value} at position ${token.at + 1}`;
      default:
        return `'${token.type}' at position ${token.at + 1}`;
    }
  }

  #enter(): void {
    if (++this.#depth > FILTER_LIMITS.maxDepth) {
      invalid(`nested deeper than ${FILTER_LIMITS.maxDepth} levels.`);
    }
  }

  parse(): Filter {
    const filter = this.#or();
    const rest = this.#peek();
    if (rest.type !== "end") {
      invalid(`expected 'and', 'or' or the end of the filter, found ${this.#describe(rest)}.`);
    }
    return filter;
  }

  // or has the lowest precedence, then and, then not (RFC 7644 §3.4.2.2, table 4).
  #or(): Filter {
    const filters = [this.#and()];
    while (this.#isWord(this.#peek(), "or")) {
      this.#next();
      filters.push(this.#and());
    }
    return filters.length === 1 ? filters[0]! : { kind: "or", filters };
  }

  #and(): Filter {
    const filters = [this.#unary()];
    while (this.#isWord(this.#peek(), "and")) {
      this.#next();
      filters.push(this.#unary());
    }
    return filters.length === 1 ? filters[0]! : { kind: "and", filters };
  }

  #unary(): Filter {
    const token = this.#peek();
    if (this.#isWord(token, "not")) {
      this.#next();
      if (this.#peek().type !== "(") invalid(`'not' must be followed by '(', found ${this.#describe(this.#peek())}.`);
      return { kind: "not", filter: this.#group() };
    }
    if (token.type === "(") return this.#group();
    if (token.type === "word") return this.#attributeExpression();
    invalid(`expected an attribute, 'not' or '(', found ${this.#describe(token)}.`);
  }

  #group(): Filter {
    const open = this.#next();
    this.#enter();
    const filter = this.#or();
    const close = this.#next();
    if (close.type !== ")") {
      invalid(`'(' at position ${open.at + 1} is not closed: found ${this.#describe(close)}.`);
    }
    this.#depth--;
    return filter;
  }

  #attributeExpression(): Filter {
    const token = this.#next() as Extract<Token, { type: "word" }>;
    const path = parseAttrPath(token.text, token.at);
    if (this.#peek().type === "[") {
      if (path.subAttribute) invalid(`'${token.text}' cannot be followed by '[': filter the attribute, then name the sub-attribute.`);
      const open = this.#next();
      this.#enter();
      const inner = this.#or();
      const close = this.#next();
      if (close.type !== "]") invalid(`'[' at position ${open.at + 1} is not closed: found ${this.#describe(close)}.`);
      this.#depth--;
      if (containsValuePath(inner)) invalid(`value filters cannot be nested (at position ${open.at + 1}).`);
      // Microsoft's `emails[type eq "work"].value eq "x"`.
      const after: Token = this.#peek();
      if (after.type === "word" && after.text.startsWith(".")) {
        this.#next();
        const sub = parseAttrPath(after.text.slice(1), after.at + 1);
        if (sub.schema || sub.subAttribute) invalid(`'${after.text}' at position ${after.at + 1} is not a sub-attribute.`);
        const comparison = this.#comparison({ attribute: sub.attribute });
        return { kind: "valuePath", path, filter: { kind: "and", filters: [inner, comparison] } };
      }
      return { kind: "valuePath", path, filter: inner };
    }
    return this.#comparison(path);
  }

  #comparison(path: AttrPath): Filter {
    if (++this.#terms > FILTER_LIMITS.maxTerms) invalid(`more than ${FILTER_LIMITS.maxTerms} comparisons.`);
    const opToken = this.#next();
    if (opToken.type !== "word") {
      invalid(`expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after the attribute, found ${this.#describe(opToken)}.`);
    }
    const op = opToken.text.toLowerCase();
    if (op === "pr") return { kind: "present", path };
    if (!COMPARE_OPS.has(op)) {
      invalid(`'${opToken.text}' at position ${opToken.at + 1} is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr).`);
    }
    const valueToken = this.#next();
    let value: CompareValue;
    switch (valueToken.type) {
      case "string":
      case "number":
        value = valueToken.value;
        break;
      case "word": {
        // Tolerance (README): a bare word that is not true, false or null is the string it spells,
        // as clients write `userName sw O` or `meta.created gt 2015-10-10T14:38:21Z`.
        const word = valueToken.text;
        if (word === "true") value = true;
        else if (word === "false") value = false;
        else if (word === "null") value = null;
        else value = word;
        break;
      }
      default:
        invalid(`'${op}' needs a value (a quoted string, number, true, false or null), found ${this.#describe(valueToken)}.`);
    }
    return { kind: "compare", path, op: op as CompareOp, value };
  }
}

function containsValuePath(filter: Filter): boolean {
  switch (filter.kind) {
    case "valuePath":
      return true;
    case "and":
    case "or":
      return filter.filters.some(containsValuePath);
    case "not":
      return containsValuePath(filter.filter);
    case "compare":
    case "present":
      return false;
  }
}

/** Parses a filter expression; throws `ScimError` 400 `invalidFilter` on anything invalid. */
export function parseFilter(input: string): Filter {
  if (input.length > FILTER_LIMITS.maxLength) invalid(`longer than ${FILTER_LIMITS.maxLength} characters.`);
  if (input.trim() === "") invalid("the filter is empty.");
  return new Parser(tokenize(input)).parse();
}

/** The comparisons (and presence tests) of a filter: what FILTER_LIMITS.maxTerms counts. */
export function termsOf(filter: Filter): number {
  switch (filter.kind) {
    case "compare":
    case "present":
      return 1;
    case "and":
    case "or":
      return filter.filters.reduce((sum, f) => sum + termsOf(f), 0);
    case "not":
      return termsOf(filter.filter);
    case "valuePath":
      return termsOf(filter.filter);
  }
}
