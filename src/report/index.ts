// tsbpf report: NDJSON trace in, an HTML timeline and/or Chrome Trace Event JSON out.
// Pure: callers read and write the files.
export { renderHtml, scriptSafeJson } from "./html.ts";
export { buildTrace, type Outcome, type ProcessRec, type Trace } from "./model.ts";
export { parseNdjson, parseTimeUs, type RawEvent, ReportInputError } from "./parse.ts";
export { toTraceEvents } from "./perfetto.ts";
export { criticalPath, type Summary, summarize } from "./summary.ts";
