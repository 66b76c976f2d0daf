/** The version of this tsbpf package. */
export const VERSION = "0.1.0";
