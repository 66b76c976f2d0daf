// The process tree of a Trace: children lists and the depth-first row order the
// timeline draws (each process under its parent, siblings by start time).
import type { ProcessRec } from "./model.ts";

export interface Tree {
  roots: number[];
  children: number[][];
}

/** Children in the order of `processes` (by start time), which every caller wants. */
export function buildTree(processes: readonly ProcessRec[]): Tree {
  const children: number[][] = processes.map(() => []);
  const roots: number[] = [];
  processes.forEach((p, i) => {
    if (p.parent >= 0) children[p.parent]?.push(i);
    else roots.push(i);
  });
  return { roots, children };
}

/** Depth-first order with depths; iterative, since a chain of 50,000 shells is a valid trace. */
export function rowOrder(tree: Tree): { order: number[]; depth: number[] } {
  const order: number[] = [];
  const depth: number[] = new Array(tree.children.length).fill(0);
  const stack: number[] = [];
  for (let r = tree.roots.length - 1; r >= 0; r--) stack.push(tree.roots[r] as number);
  while (stack.length) {
    const i = stack.pop() as number;
    order.push(i);
    const kids = tree.children[i] as number[];
    for (let k = kids.length - 1; k >= 0; k--) {
      const c = kids[k] as number;
      depth[c] = (depth[i] as number) + 1;
      stack.push(c);
    }
  }
  return { order, depth };
}
