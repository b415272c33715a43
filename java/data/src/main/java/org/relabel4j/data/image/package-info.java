/**
 * Image decoding with OpenCV (JavaCPP preset): {@link org.relabel4j.data.image.ImageDecoder} probes sizes from
 * headers and decodes to 8-bit RGB {@link org.relabel4j.data.image.DecodedImage}s, JPEGs optionally at 1/2, 1/4,
 * 1/8 scale. Nothing here loads LibTorch (JavaCPP's OpenCV and LibTorch natives are independent); loading
 * {@code ImageDecoder} sets OpenCV to run single-threaded (no OpenCV thread pool inside loader threads).
 */
package org.relabel4j.data.image;
