/**
 * Knows which paths the app serves with which methods, so that an unmatched request can be answered
 * 405 (path exists, method does not, with `Allow`) or 404, in the family's shape.
 */
interface RouteEntry {
  method: string;
  path: string;
}

interface Compiled {
  re: RegExp;
  methods: Set<string>;
}

function compile(path: string): RegExp {
  const pattern = path
    .split("/")
    .map((seg) => {
      if (seg === "*") return ".*";
      if (seg.startsWith(":")) return "[^/]+";
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${pattern}/?$`);
}

export class RoutesIndex {
  #compiled: Compiled[] | undefined;

  constructor(private readonly routes: () => RouteEntry[]) {}

  /** The methods served at `path` (empty when no route has this path). */
  methodsFor(path: string): string[] {
    this.#compiled ??= this.#build();
    const methods = new Set<string>();
    for (const { re, methods: m } of this.#compiled) if (re.test(path)) for (const x of m) methods.add(x);
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  }

  #build(): Compiled[] {
    const byPath = new Map<string, Set<string>>();
    for (const r of this.routes()) {
      if (r.method === "ALL" || r.path.endsWith("*")) continue; // middleware
      const set = byPath.get(r.path) ?? new Set<string>();
      set.add(r.method.toUpperCase());
      byPath.set(r.path, set);
    }
    return [...byPath].map(([path, methods]) => ({ re: compile(path), methods }));
  }
}
