/**
 * The part of Jinja that our Home Assistant value templates use, evaluated the way HA does it, so
 * a test can see what HA would log: names, attribute access (dict keys and `.get()`), string
 * literals, `none`, dict literals, `==`/`!=`, `not`/`and`/`or`, `A if B else C`, and the filters
 * `selectattr(name, 'eq', value)`, `list`, `count`/`length` and `tojson`.
 *
 * HA renders with a "logging undefined": reading a missing key or an attribute of None gives an
 * Undefined, and printing or testing that Undefined logs a warning such as
 * "'None' has no attribute 'name'"; using an attribute of an Undefined is an error.
 */

/** Jinja's Undefined, with the hint HA puts in its log line. */
class Undefined {
  constructor(readonly hint: string) {}
}

/** A dict's `.get` bound to its dict. */
class BoundGet {
  constructor(readonly dict: Record<string, unknown>) {}
}

type Node =
  | { kind: 'literal'; value: unknown }
  | { kind: 'name'; name: string }
  | { kind: 'attr'; object: Node; name: string }
  | { kind: 'call'; callee: Node; args: Node[] }
  | { kind: 'filter'; operand: Node; name: string; args: Node[] }
  | { kind: 'dict'; entries: [Node, Node][] }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: 'and' | 'or' | '==' | '!='; left: Node; right: Node }
  | { kind: 'if'; then: Node; test: Node; otherwise: Node };

export interface Rendered {
  output: string;
  /** What HA would log while rendering (warnings and errors); empty when it renders cleanly. */
  problems: string[];
}

const TOKEN = /\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|[.(),{}|:])|(\S))/y;

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const match = TOKEN.exec(source);
    if (!match) break;
    if (match[4]) throw new Error(`unsupported character "${match[4]}" in ${source}`);
    const token = match[1] ?? match[2] ?? match[3];
    if (token !== undefined) tokens.push(token);
  }
  return tokens;
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: string[]) {}

  parse(): Node {
    const node = this.conditional();
    if (this.at !== this.tokens.length) throw new Error(`unexpected "${this.tokens[this.at]}"`);
    return node;
  }

  private peek(): string | undefined {
    return this.tokens[this.at];
  }

  private take(expected?: string): string {
    const token = this.tokens[this.at++];
    if (token === undefined || (expected !== undefined && token !== expected)) throw new Error(`expected ${expected ?? 'more'}, got ${token}`);
    return token;
  }

  private conditional(): Node {
    const then = this.binary('or');
    if (this.peek() !== 'if') return then;
    this.take('if');
    const test = this.binary('or');
    this.take('else');
    return { kind: 'if', then, test, otherwise: this.conditional() };
  }

  private binary(op: 'or' | 'and'): Node {
    let left = op === 'or' ? this.binary('and') : this.negation();
    while (this.peek() === op) {
      this.take();
      left = { kind: 'binary', op, left, right: op === 'or' ? this.binary('and') : this.negation() };
    }
    return left;
  }

  private negation(): Node {
    if (this.peek() !== 'not') return this.comparison();
    this.take();
    return { kind: 'not', operand: this.negation() };
  }

  private comparison(): Node {
    const left = this.postfix();
    const op = this.peek();
    if (op !== '==' && op !== '!=') return left;
    this.take();
    return { kind: 'binary', op, left, right: this.postfix() };
  }

  private postfix(): Node {
    let node = this.primary();
    for (;;) {
      if (this.peek() === '.') {
        this.take();
        node = { kind: 'attr', object: node, name: this.take() };
      } else if (this.peek() === '(') {
        node = { kind: 'call', callee: node, args: this.args() };
      } else if (this.peek() === '|') {
        this.take();
        const name = this.take();
        node = { kind: 'filter', operand: node, name, args: this.peek() === '(' ? this.args() : [] };
      } else {
        return node;
      }
    }
  }

  private args(): Node[] {
    this.take('(');
    const args: Node[] = [];
    while (this.peek() !== ')') {
      args.push(this.conditional());
      if (this.peek() === ',') this.take();
    }
    this.take(')');
    return args;
  }

  private primary(): Node {
    const token = this.take();
    if (token === '(') {
      const inner = this.conditional();
      this.take(')');
      return inner;
    }
    if (token === '{') {
      const entries: [Node, Node][] = [];
      while (this.peek() !== '}') {
        const key = this.conditional();
        this.take(':');
        entries.push([key, this.conditional()]);
        if (this.peek() === ',') this.take();
      }
      this.take('}');
      return { kind: 'dict', entries };
    }
    if (/^['"]/.test(token)) return { kind: 'literal', value: token.slice(1, -1) };
    if (token === 'none' || token === 'None') return { kind: 'literal', value: null };
    if (token === 'true' || token === 'True') return { kind: 'literal', value: true };
    if (token === 'false' || token === 'False') return { kind: 'literal', value: false };
    return { kind: 'name', name: token };
  }
}

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Undefined) && !(value instanceof BoundGet);
}

function pythonType(value: unknown): string {
  if (value === null) return "'None'";
  if (typeof value === 'string') return "'str object'";
  if (typeof value === 'number') return "'int object'";
  if (typeof value === 'boolean') return "'bool object'";
  if (Array.isArray(value)) return "'list object'";
  return "'dict object'";
}

class Evaluation {
  readonly problems: string[] = [];
  constructor(private readonly variables: Record<string, unknown>) {}

  value(node: Node): unknown {
    switch (node.kind) {
      case 'literal':
        return isDict(node.value) ? { ...node.value } : node.value;
      case 'name':
        return node.name in this.variables ? this.variables[node.name] : new Undefined(`'${node.name}' is undefined`);
      case 'attr':
        return this.attribute(this.value(node.object), node.name);
      case 'call': {
        const callee = this.value(node.callee);
        if (!(callee instanceof BoundGet)) throw this.fail(`${describe(callee)} is not callable`);
        const [key, fallback] = node.args.map((arg) => this.value(arg));
        return typeof key === 'string' && key in callee.dict ? callee.dict[key] : (fallback ?? null);
      }
      case 'not':
        return !this.truthy(this.value(node.operand));
      case 'binary': {
        const left = this.value(node.left);
        if (node.op === 'and') return this.truthy(left) ? this.value(node.right) : left;
        if (node.op === 'or') return this.truthy(left) ? left : this.value(node.right);
        // Jinja's Undefined compares without logging.
        const same = JSON.stringify(left) === JSON.stringify(this.value(node.right));
        return node.op === '==' ? same : !same;
      }
      case 'if':
        return this.truthy(this.value(node.test)) ? this.value(node.then) : this.value(node.otherwise);
      case 'dict':
        return Object.fromEntries(node.entries.map(([key, value]) => [String(this.value(key)), this.value(value)]));
      case 'filter':
        return this.filter(node.name, this.value(node.operand), node.args.map((arg) => this.value(arg)));
    }
  }

  private filter(name: string, operand: unknown, args: unknown[]): unknown {
    if (operand instanceof Undefined) throw this.fail(operand.hint);
    switch (name) {
      case 'selectattr': {
        const [attribute, test, wanted] = args;
        if (!Array.isArray(operand)) throw this.fail(`${pythonType(operand)} is not iterable`);
        if (!['eq', 'equalto', '=='].includes(String(test))) throw new Error(`unsupported test ${String(test)}`);
        return operand.filter((item) => isDict(item) && JSON.stringify(item[String(attribute)]) === JSON.stringify(wanted));
      }
      case 'list':
        if (!Array.isArray(operand)) throw this.fail(`${pythonType(operand)} is not iterable`);
        return [...operand];
      case 'count':
      case 'length':
        if (Array.isArray(operand) || typeof operand === 'string') return operand.length;
        if (isDict(operand)) return Object.keys(operand).length;
        throw this.fail(`object of type ${pythonType(operand)} has no len()`);
      case 'tojson':
        return JSON.stringify(operand);
      default:
        throw new Error(`unsupported filter ${name}`);
    }
  }

  text(value: unknown): string {
    if (value instanceof Undefined) {
      this.problems.push(`Template variable warning: ${value.hint}`);
      return '';
    }
    if (value === null) return 'None';
    if (value === true) return 'True';
    if (value === false) return 'False';
    return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
  }

  private attribute(object: unknown, name: string): unknown {
    if (object instanceof Undefined) throw this.fail(object.hint);
    if (isDict(object)) {
      if (name === 'get') return new BoundGet(object);
      if (name in object) return object[name];
    }
    return new Undefined(`${pythonType(object)} has no attribute '${name}'`);
  }

  private truthy(value: unknown): boolean {
    if (value instanceof Undefined) {
      this.problems.push(`Template variable warning: ${value.hint}`);
      return false;
    }
    if (isDict(value)) return Object.keys(value).length > 0;
    if (Array.isArray(value)) return value.length > 0;
    return Boolean(value);
  }

  private fail(message: string): Error {
    this.problems.push(`Template variable error: ${message}`);
    return new Error(message);
  }
}

function describe(value: unknown): string {
  return value instanceof Undefined ? value.hint : pythonType(value);
}

/**
 * Renders `template` with `variables` (e.g. `{ value_json }`); a render that fails has output ''.
 * Syntax outside the subset above throws, so a template this file cannot read never passes.
 */
export function renderTemplate(template: string, variables: Record<string, unknown>): Rendered {
  const parts = template.split(/\{\{(.*?)\}\}/s).map((part, i) => (i % 2 === 1 ? new Parser(tokenize(part)).parse() : part));
  const evaluation = new Evaluation(variables);
  try {
    const output = parts.map((part) => (typeof part === 'string' ? part : evaluation.text(evaluation.value(part)))).join('');
    return { output, problems: evaluation.problems };
  } catch {
    return { output: '', problems: evaluation.problems };
  }
}
