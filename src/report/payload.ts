// What the HTML page embeds: the model, its summary and where it came from. Shared by
// the generator (html.ts) and the page's script (client/), which imports the types only.
import type { Trace } from "./model.ts";
import type { Summary } from "./summary.ts";

export interface ReportPayload {
  /** The input's name as the user gave it (shown in the title; never a path to open). */
  source: string;
  generator: string;
  trace: Trace;
  summary: Summary;
}
