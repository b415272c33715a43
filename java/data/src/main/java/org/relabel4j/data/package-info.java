/**
 * Datasets of encoded images with one class label each, for the loader: {@link org.relabel4j.data.ImageFolder}
 * (torchvision's layout, ImageNet train/val), {@link org.relabel4j.data.ImageNetV2} (class = folder number),
 * {@link org.relabel4j.data.ListFile} ({@code path<TAB>label} lines), {@link org.relabel4j.data.TarShards}
 * (WebDataset shards read in place), and {@link org.relabel4j.data.Datasets#open} for command-line specs.
 *
 * <p><b>Keys</b> are the label-map store's keys: the image path relative to the dataset root without the
 * extension, '/'-separated ({@code n01440764/n01440764_10026}); for tar shards the WebDataset key of the member.
 * A dataset never holds two samples with one key.
 *
 * <p>All datasets are immutable after opening and safe for concurrent {@code read} calls; they hold no open files
 * (each read opens and closes its file or shard), so they need no closing. Errors are
 * {@link org.relabel4j.data.DatasetException}s naming the file (and line, member or key).
 *
 * <p><b>Memory per sample</b>: paths are held as UTF-8 bytes in one array, not as strings: ImageFolder and
 * ImageNetV2 ~5 bytes + the relative path, ListFile ~9 bytes + the path, TarShards 21 bytes + the member name
 * (ImageNet: ~35-45 bytes a sample, under 60 MB for 1.28 M samples). Decoding lives in
 * {@link org.relabel4j.data.image}.
 */
package org.relabel4j.data;
