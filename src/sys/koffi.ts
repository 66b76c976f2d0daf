// The one import of koffi in the project. Every other module reaches libc through
// src/sys. The single-binary build (scripts/build-sea.mjs) replaces this module's
// "koffi" import with a loader that opens the addon embedded as a SEA asset.
import koffi from "koffi";

export default koffi;
