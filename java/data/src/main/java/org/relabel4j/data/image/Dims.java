package org.relabel4j.data.image;

/** An encoded image's full-size width and height in pixels (EXIF orientation not applied) and its format. */
public record Dims(int width, int height, ImageFormat format) {}
