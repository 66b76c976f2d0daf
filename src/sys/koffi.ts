// The one import of koffi in the project. Every other module reaches libc through
// src/sys, and asks for koffi with getKoffi() at first use, never at module load.
// The single-binary build (scripts/build-sea.mjs) puts src/binary/koffi-sea.ts in place of
// this module: same API, but it loads the addon embedded as a SEA asset, on the first
// getKoffi() call (the binary's V8 start-up snapshot may hold no native addon).
import koffi from "koffi";

/** The koffi module (from source: loaded with this module, as before). */
export function getKoffi(): typeof koffi {
  return koffi;
}
