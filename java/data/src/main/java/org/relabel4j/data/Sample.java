package org.relabel4j.data;

/**
 * One sample of a dataset: its position, its label-map key (the image path relative to the dataset root without
 * the extension, '/'-separated: the store's key), its class index, and where it comes from (for messages).
 */
public record Sample(int index, String key, int label, String origin) {}
