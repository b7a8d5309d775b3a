// The router's approximate prefix tree (SGLang's cache-aware router keeps one over request text; this one is over
// token ids): a radix tree of the prompts sent to each replica ("tenant"), each node stamped with when each tenant
// last used it. It guesses what each replica's prefix cache holds without asking it — approximate because replicas
// evict on their own. Memory is bounded per tenant by evicting its least recently used leaves.
//
// Invariant: a node's tenants include every tenant of its children (insert stamps the whole path), so a tenant's
// match length is the depth of the deepest node on the path that names it, and ancestors are never older than
// their descendants — evicting a tenant's oldest leaves first keeps the tree a tree.

class Node {
  readonly children = new Map<number, Node>();
  /** tenant → last use (ms). */
  readonly tenants = new Map<string, number>();
  constructor(
    public edge: Int32Array,
    public parent: Node | null,
  ) {}
}

function commonPrefix(edge: Int32Array, ids: readonly number[], from: number): number {
  const n = Math.min(edge.length, ids.length - from);
  let k = 0;
  while (k < n && edge[k] === ids[from + k]) k++;
  return k;
}

export class PrefixTree {
  private readonly root = new Node(new Int32Array(0), null);
  /** Tokens each tenant holds (sum of the edges of its nodes). */
  private readonly sizes = new Map<string, number>();

  /** For each tenant on the path of ids, how many leading tokens of ids it holds. */
  match(ids: readonly number[]): Map<string, number> {
    const out = new Map<string, number>();
    let node = this.root;
    let i = 0;
    while (i < ids.length) {
      const child = node.children.get(ids[i]!);
      if (!child) break;
      const k = commonPrefix(child.edge, ids, i);
      i += k;
      for (const t of child.tenants.keys()) out.set(t, i);
      if (k < child.edge.length) break;
      node = child;
    }
    return out;
  }

  /** Records that tenant now holds ids (stamps every node of the path with now). */
  insert(ids: readonly number[], tenant: string, now = Date.now()): void {
    let node = this.root;
    let i = 0;
    while (i < ids.length) {
      let child = node.children.get(ids[i]!);
      if (!child) {
        const leaf = new Node(Int32Array.from(ids.slice(i)), node);
        leaf.tenants.set(tenant, now);
        node.children.set(ids[i]!, leaf);
        this.grow(tenant, leaf.edge.length);
        return;
      }
      const k = commonPrefix(child.edge, ids, i);
      if (k < child.edge.length) child = this.split(node, child, k);
      if (!child.tenants.has(tenant)) this.grow(tenant, child.edge.length);
      child.tenants.set(tenant, now);
      i += k;
      node = child;
    }
  }

  /** Tokens the tenant holds in the tree. */
  size(tenant: string): number {
    return this.sizes.get(tenant) ?? 0;
  }

  /** Forgets a tenant (a removed replica). */
  removeTenant(tenant: string): void {
    const stack = [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      for (const c of [...n.children.values()]) {
        if (!c.tenants.has(tenant)) continue;
        stack.push(c);
        c.tenants.delete(tenant);
        if (c.tenants.size === 0) n.children.delete(c.edge[0]!);
      }
    }
    this.sizes.delete(tenant);
  }

  /** Evicts each tenant's least recently used leaves until it holds at most maxTokens. */
  evict(maxTokens: number): void {
    for (const [tenant, size] of this.sizes) if (size > maxTokens) this.evictTenant(tenant, maxTokens);
  }

  private evictTenant(tenant: string, maxTokens: number): void {
    const heap = new MinHeap<Node>();
    const stack = [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      let leaf = n !== this.root;
      for (const c of n.children.values()) {
        if (!c.tenants.has(tenant)) continue;
        leaf = false;
        stack.push(c);
      }
      if (leaf) heap.push(n.tenants.get(tenant)!, n);
    }
    while (this.size(tenant) > maxTokens && heap.size > 0) {
      const n = heap.pop()!;
      n.tenants.delete(tenant);
      this.grow(tenant, -n.edge.length);
      const parent = n.parent!;
      if (n.tenants.size === 0) parent.children.delete(n.edge[0]!);
      if (parent !== this.root && ![...parent.children.values()].some((c) => c.tenants.has(tenant))) heap.push(parent.tenants.get(tenant)!, parent);
    }
  }

  /** Splits child's edge after k tokens; returns the new middle node (same tenants, so sizes do not change). */
  private split(parent: Node, child: Node, k: number): Node {
    const mid = new Node(child.edge.subarray(0, k), parent);
    for (const [t, ts] of child.tenants) mid.tenants.set(t, ts);
    child.edge = child.edge.subarray(k);
    child.parent = mid;
    mid.children.set(child.edge[0]!, child);
    parent.children.set(mid.edge[0]!, mid);
    return mid;
  }

  private grow(tenant: string, n: number): void {
    this.sizes.set(tenant, (this.sizes.get(tenant) ?? 0) + n);
  }
}

/** A binary min-heap by numeric key. */
class MinHeap<T> {
  private readonly keys: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(key: number, item: T): void {
    let i = this.items.length;
    this.keys.push(key);
    this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p]! <= key) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0];
    this.swap(0, n - 1);
    this.keys.pop();
    this.items.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < this.items.length && this.keys[l]! < this.keys[m]!) m = l;
      if (r < this.items.length && this.keys[r]! < this.keys[m]!) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private swap(a: number, b: number): void {
    [this.keys[a], this.keys[b]] = [this.keys[b]!, this.keys[a]!];
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }
}
