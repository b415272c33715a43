/**
 * A pure-Java reader of PyTorch {@code torch.save} files (zip and legacy formats): {@link
 * org.relabel4j.torchsave.TorchSave} is the entry point.
 */
package org.relabel4j.torchsave;
