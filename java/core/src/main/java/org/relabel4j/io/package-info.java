/**
 * File plumbing shared by the commands and the library: atomic writes whose errors name the output and the reason
 * ({@link org.relabel4j.io.AtomicFiles}), and the checks of input and output paths ({@link org.relabel4j.io.FileChecks}):
 * an input exists and is a readable file, an output is not the same file as an input or another output.
 */
package org.relabel4j.io;
