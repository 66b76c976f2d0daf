// Trace → one self-contained HTML page: the style, the script (bundled at build time into
// client-bundle.ts) and the data are all inline; opening it needs no network.
import { CLIENT_JS } from "./client-bundle.ts";
import { argvOf, type ProcessRec, type Trace } from "./model.ts";
import type { ReportPayload } from "./payload.ts";
import { summarize } from "./summary.ts";

/**
 * JSON that is safe inside a <script> element. The HTML tokenizer ends a script at the
 * first "</script" whatever the JS says, and "<!--" changes how it scans, so every "<"
 * (and ">" and "&", for good measure) is written as a \u escape; JSON.parse gives the
 * same string back. U+2028/U+2029 are escaped too (line terminators in pre-ES2019 JS).
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, "0")}`;
  });
}

const CSS = `
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px system-ui,sans-serif;color:#222;background:#fff}
body{display:flex;flex-direction:column}
header{display:flex;align-items:center;gap:10px;padding:6px 10px;border-bottom:1px solid #d0d4da;background:#f3f5f8;flex-wrap:wrap}
header h1{font-size:15px;margin:0;max-width:40ch;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
header .muted{color:#667}
button{font:inherit;padding:2px 8px;border:1px solid #b8bec7;background:#fff;border-radius:3px;cursor:pointer}
button:hover{background:#eef2f7}
input[type=search]{font:inherit;padding:2px 6px;width:22ch;border:1px solid #b8bec7;border-radius:3px}
.legend{display:flex;gap:8px;align-items:center}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
main{flex:1;display:flex;min-height:0}
#timeline{flex:1;display:flex;flex-direction:column;min-width:0;position:relative}
#axis{display:block;flex:none}
#stage{flex:1;position:relative;min-height:0}
#rows{position:absolute;left:0;top:0;pointer-events:none}
#scroller{position:absolute;inset:0;overflow-y:scroll;overflow-x:hidden;cursor:default}
#spacer{width:1px}
aside{width:380px;flex:none;border-left:1px solid #d0d4da;overflow:auto;padding:0 12px 20px;background:#fcfcfd}
aside h3{font-size:13px;margin:14px 0 6px}
aside h4{font-size:12px;margin:10px 0 4px}
table.kv{border-collapse:collapse;width:100%}
table.kv th{text-align:left;font-weight:500;color:#556;padding:1px 8px 1px 0;vertical-align:top;white-space:nowrap;width:1%}
table.kv td{padding:1px 0;word-break:break-all;font-family:ui-monospace,monospace;font-size:12px}
ol.procs{margin:0;padding:0;list-style:none}
ol.procs li{padding:1px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
ol.argv{margin:0;padding-left:2.5em;font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
details.event{margin:6px 0;border-top:1px solid #e3e6ea;padding-top:4px}
details.event summary{cursor:pointer;font-weight:500}
.muted{color:#778}
a{color:#1f5fbf;text-decoration:none}
a:hover{text-decoration:underline}
#tip{position:fixed;display:none;max-width:360px;background:#1d2430;color:#fff;padding:5px 8px;border-radius:4px;font-size:12px;pointer-events:none;z-index:10;word-break:break-all}
#help{font-size:11px}
`;

const LEGEND: [string, string][] = [
  ["#3a9b5c", "exit 0"],
  ["#e08a1e", "non-zero"],
  ["#d1393b", "signal"],
  ["#7e3fb0", "core dump"],
  ["#8fa3b8", "running"],
];

/**
 * A process's argv is its last exec's (or its exit record's): the page derives it from
 * the events instead of carrying every argv twice (client/state.ts argvOf).
 */
function withoutDerivedArgv(p: ProcessRec): ProcessRec {
  return argvOf(p.events) === p.argv ? { ...p, argv: [] } : p;
}

export interface HtmlOptions {
  /** The input's name, shown in the title. */
  source: string;
  generator: string;
}

export function renderHtml(trace: Trace, opts: HtmlOptions): string {
  const payload: ReportPayload = {
    source: opts.source,
    generator: opts.generator,
    trace: { ...trace, processes: trace.processes.map(withoutDerivedArgv) },
    summary: summarize(trace),
  };
  const legend = LEGEND.map(
    ([c, t]) => `<span><span class="sw" style="background:${c}"></span>${t}</span>`,
  ).join("");
  // The script text cannot contain "</script" (checked when the bundle is built); the
  // replace is a second guard that costs nothing.
  const js = CLIENT_JS.replace(/<\/(script)/gi, "<\\/$1");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>tsbpf report</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1 id="title">tsbpf report</h1><span class="muted" id="subtitle"></span>
<input type="search" id="search" placeholder="search argv ( / )" aria-label="search argv">
<span id="search-info" class="muted"></span>
<button id="zoom-in" title="zoom in (w, +)">+</button><button id="zoom-out" title="zoom out (s, -)">−</button><button id="zoom-fit" title="whole trace (0)">fit</button>
<button id="expand-all">expand all</button><button id="collapse-all">collapse all</button>
<span class="legend">${legend}<span><span class="sw" style="background:#111"></span>critical path</span></span>
<span id="help" class="muted">ctrl+wheel zoom · drag or shift+wheel pan · click ▸ to collapse · double-click a bar to zoom to it</span>
</header>
<main>
<div id="timeline"><canvas id="axis"></canvas><div id="stage"><canvas id="rows"></canvas><div id="scroller"><div id="spacer"></div></div></div></div>
<aside><div id="summary"></div><h3>Process</h3><div id="details"></div></aside>
</main>
<div id="tip"></div>
<script type="application/json" id="tsbpf-data">${scriptSafeJson(payload)}</script>
<script>${js}</script>
</body>
</html>
`;
}
