// The workflow graph: an inline SVG of GENERATE × N → ANALYZE × N → REPORT, one node per task, coloured by
// the task's state. The nodes and edges are drawn again only when the number of batches changes.
import { $, setAttr, setText } from "./dom.js";
import { STAGES, state, taskKey } from "./state.js";

const TASK_WORD = {
  pending: "pending", running: "running", succeeded: "done", failed: "failed", cancelled: "cancelled",
  starting: "starting", cached: "cached",
};
const TASK_ICON = {
  pending: "○", running: "●", succeeded: "✓", failed: "✕", cancelled: "⊘", starting: "○", cached: "↺",
};

const SVG_NS = "http://www.w3.org/2000/svg";
const GEO = { nodeW: 140, nodeH: 44, colGap: 60, rowGap: 12, headH: 30, pad: 10 };
const graph = { batches: -1, nodes: new Map(), edges: [] };

function svg(tag, attrs = {}, parent = null) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (parent) parent.appendChild(el);
  return el;
}

function columnX(col) {
  return GEO.pad + col * (GEO.nodeW + GEO.colGap);
}

function rowY(row) {
  return GEO.headH + GEO.pad + row * (GEO.nodeH + GEO.rowGap);
}

// Draws the nodes and edges for `batches`; states are applied afterwards by renderGraph().
function buildGraph(batches) {
  const root = $("graph");
  root.replaceChildren();
  graph.nodes.clear();
  graph.edges = [];
  graph.batches = batches;
  if (batches < 1) {
    root.setAttribute("width", 0);
    root.setAttribute("height", 0);
    return;
  }
  const rows = batches;
  const width = columnX(2) + GEO.nodeW + GEO.pad;
  const height = rowY(rows) - GEO.rowGap + GEO.pad;
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  root.setAttribute("width", width);
  root.setAttribute("height", height);

  const defs = svg("defs", {}, root);
  for (const kind of ["idle", "done"]) {
    const marker = svg("marker", {
      id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto",
    }, defs);
    svg("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow arrow-${kind}` }, marker);
  }

  const heads = svg("g", { "aria-hidden": "true" }, root);
  STAGES.forEach((stage, col) => {
    const label = stage === "REPORT" ? "REPORT" : `${stage} × ${batches}`;
    const x = columnX(col) + GEO.nodeW / 2;
    const t = svg("text", { x, y: 18, class: "col-head", "text-anchor": "middle" }, heads);
    t.textContent = label;
  });

  const edges = svg("g", { "aria-hidden": "true" }, root);
  const reportY = GEO.headH + GEO.pad + ((rows - 1) * (GEO.nodeH + GEO.rowGap)) / 2 + GEO.nodeH / 2;
  for (let b = 1; b <= batches; b++) {
    const y = rowY(b - 1) + GEO.nodeH / 2;
    const x1 = columnX(0) + GEO.nodeW;
    const x2 = columnX(1);
    graph.edges.push({
      from: taskKey("GENERATE", b),
      el: svg("path", { d: `M${x1},${y} L${x2 - 2},${y}`, class: "edge" }, edges),
    });
    const x3 = columnX(1) + GEO.nodeW;
    const x4 = columnX(2);
    const mid = (x3 + x4) / 2;
    graph.edges.push({
      from: taskKey("ANALYZE", b),
      el: svg("path", { d: `M${x3},${y} C${mid},${y} ${mid},${reportY} ${x4 - 2},${reportY}`, class: "edge" }, edges),
    });
  }

  const nodes = svg("g", { class: "nodes" }, root);
  for (let b = 1; b <= batches; b++) {
    addNode(nodes, "GENERATE", b, columnX(0), rowY(b - 1));
    addNode(nodes, "ANALYZE", b, columnX(1), rowY(b - 1));
  }
  addNode(nodes, "REPORT", 0, columnX(2), reportY - GEO.nodeH / 2);
}

function addNode(parent, name, batch, x, y) {
  const key = taskKey(name, batch);
  const g = svg("g", { class: "node", role: "img", "data-task": key, "data-state": "pending" }, parent);
  svg("rect", { x, y, width: GEO.nodeW, height: GEO.nodeH, rx: 8, class: "node-box" }, g);
  const title = svg("text", { x: x + 12, y: y + 18, class: "node-title" }, g);
  title.textContent = batch ? `${name} ${batch}` : name;
  const sub = svg("text", { x: x + 12, y: y + 34, class: "node-state" }, g);
  graph.nodes.set(key, { g, sub, label: batch ? `${name} ${batch}` : name });
}

export function renderGraph() {
  // With no run yet, the graph previews the workflow of the chosen batch count.
  const planned = !state.run;
  const batches = planned ? state.batchCount : state.batches;
  const plural = batches === 1 ? "batch" : "batches";
  let caption = `No run yet: the workflow for ${batches} ${plural}.`;
  if (!planned) caption = batches ? `Run ${state.run.run_id}: ${batches} ${plural}.` : "Loading the run's workflow…";
  if (!planned && batches && typeof state.run.resumed_from === "string") {
    caption += ` Resumed from ${state.run.resumed_from}: its verified tasks are cached (↺), never started.`;
  }
  setText($("graph-caption"), caption);
  if (graph.batches !== batches) buildGraph(batches);
  for (const [key, node] of graph.nodes) {
    const s = planned ? "pending" : state.tasks.get(key) ?? "pending";
    setAttr(node.g, "data-state", s);
    setAttr(node.g, "aria-label", `${node.label}: ${TASK_WORD[s]}`);
    setText(node.sub, `${TASK_ICON[s]} ${TASK_WORD[s]}`);
  }
  for (const edge of graph.edges) {
    const from = state.tasks.get(edge.from);
    const done = !planned && (from === "succeeded" || from === "cached");
    setAttr(edge.el, "class", done ? "edge edge-done" : "edge");
    setAttr(edge.el, "marker-end", `url(#arrow-${done ? "done" : "idle"})`);
  }
}
